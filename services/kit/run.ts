import { ConfigError } from './config.ts';
import type { Service } from './service.ts';

/**
 * The entry point every service shares: build it from its configuration, let SIGTERM/SIGINT run the
 * graceful shutdown, start it. Bad configuration ends the process with exit 78 (EX_CONFIG) and one line
 * per bad variable on stderr.
 */
export async function runService(
  name: string,
  build: () =>
    | { service: Service; start: () => Promise<unknown> }
    | Promise<{ service: Service; start: () => Promise<unknown> }>,
): Promise<void> {
  try {
    const built = await build();
    built.service.installSignalHandlers();
    await built.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
