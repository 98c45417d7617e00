import request from 'supertest';
import { createOrchestrator, type Orchestrator } from '../../services/orchestrator/app.ts';
import { loadOrchestratorConfig } from '../../services/orchestrator/config.ts';

export const API_KEY = 'test-api-key-0123456789abcdef';
export const auth = { Authorization: `Bearer ${API_KEY}` };

/** An in-process orchestrator instance listening on a free loopback port, with test-sized timings. */
export async function startOrchestrator(
  env: Record<string, string>,
): Promise<Orchestrator & { url: string; port: number }> {
  const config = loadOrchestratorConfig({
    HOST: '127.0.0.1',
    API_KEYS: API_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    AGENT_TIMEOUT_MS: '2000',
    POOL_HEALTH_POLL_MS: '200',
    HEARTBEAT_TTL_MS: '1000',
    BREAKER_RESET_TIMEOUT_MS: '5000',
    REDIS_COMMAND_TIMEOUT_MS: '500',
    ...env,
  });
  const orchestrator = createOrchestrator(config);
  const { port } = await orchestrator.start(0, '127.0.0.1');
  return Object.assign(orchestrator, { url: `http://127.0.0.1:${port}`, port });
}

/** POST /v1/tasks to the orchestrator at `url` with the test API key (and any other headers). */
export function task(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return request(url).post('/v1/tasks').set(auth).set(headers).send(body);
}

/**
 * Waits (bounded) until the orchestrator at `url` holds current pushed versions of `pool`, as its
 * `orchestrator_pushed_versions_current` gauge reports; resolves whether it did.
 */
export async function pushedVersionsCurrent(url: string, pool: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const pattern = new RegExp(`^orchestrator_pushed_versions_current\\{pool="${pool}"\\} 1$`, 'm');
  while (Date.now() < deadline) {
    const text = await fetch(`${url}/metrics`)
      .then((r) => r.text())
      .catch(() => '');
    if (pattern.test(text)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
