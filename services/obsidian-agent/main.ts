import { runService } from '../kit/run.ts';
import { createObsidianAgent } from './agent.ts';
import { loadObsidianConfig } from './config.ts';

await runService('obsidian-agent', () => createObsidianAgent(loadObsidianConfig()));
