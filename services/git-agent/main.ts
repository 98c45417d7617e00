import { runService } from '../kit/run.ts';
import { createGitAgent } from './app.ts';
import { loadGitAgentConfig } from './config.ts';

await runService('git-agent', () => createGitAgent(loadGitAgentConfig()));
