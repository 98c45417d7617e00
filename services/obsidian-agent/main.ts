import { ConfigError } from '../kit/config.ts';
import { createObsidianAgent } from './agent.ts';
import { loadObsidianConfig } from './config.ts';

try {
  const agent = await createObsidianAgent(loadObsidianConfig());
  agent.service.installSignalHandlers();
  await agent.start();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`obsidian-agent: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
