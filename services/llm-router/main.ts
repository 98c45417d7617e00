import { ConfigError } from '../kit/config.ts';
import { createLlmRouter } from './app.ts';
import { loadLlmRouterConfig } from './config.ts';

try {
  const router = createLlmRouter(loadLlmRouterConfig());
  router.service.installSignalHandlers();
  await router.start();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`llm-router: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
