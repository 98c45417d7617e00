import { runService } from '../kit/run.ts';
import { createLlmRouter } from './app.ts';
import { loadLlmRouterConfig } from './config.ts';

await runService('llm-router', () => createLlmRouter(loadLlmRouterConfig()));
