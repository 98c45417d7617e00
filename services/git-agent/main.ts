import { ConfigError } from '../kit/config.ts';
import { createGitAgent } from './app.ts';
import { loadGitAgentConfig } from './config.ts';

try {
  const agent = createGitAgent(loadGitAgentConfig());
  agent.service.installSignalHandlers();
  await agent.start();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`git-agent: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
