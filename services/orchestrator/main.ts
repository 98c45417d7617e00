import { runService } from '../kit/run.ts';
import { createOrchestrator } from './app.ts';
import { loadOrchestratorConfig } from './config.ts';

await runService('orchestrator', () => createOrchestrator(loadOrchestratorConfig()));
