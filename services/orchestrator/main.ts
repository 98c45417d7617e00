import { ConfigError } from '../kit/config.ts';
import { createOrchestrator } from './app.ts';
import { loadOrchestratorConfig } from './config.ts';

try {
  const orchestrator = createOrchestrator(loadOrchestratorConfig());
  orchestrator.service.installSignalHandlers();
  await orchestrator.start();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`orchestrator: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
