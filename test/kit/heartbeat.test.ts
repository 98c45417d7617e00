/**
 * Heartbeats, both sides, against a real redis-server: what an agent writes is what an orchestrator
 * reads, under the one TTL setting both read; and an agent reports its Redis connection as a metric.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent } from '../../harness/test-agent.ts';
import { redisKeys } from '../../platform/redis-keys.ts';
import { agentConfigSchema } from '../../services/kit/agent-service.ts';
import { loadConfig } from '../../services/kit/config.ts';
import { readPoolHealth, startHeartbeat, type AgentHealthReport } from '../../services/kit/heartbeat.ts';
import { createLogger } from '../../services/kit/logger.ts';
import { closeRedis, createRedis, waitReady } from '../../services/kit/redis.ts';
import { loadOrchestratorConfig } from '../../services/orchestrator/config.ts';
import { readSharedEnv } from '../../stack/local-configs.ts';
import { parseMetrics, sample } from '../support/metrics.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.close());

test('agents and orchestrators read the heartbeat TTL from one setting, the one the shared env file sets', () => {
  const env = { ...readSharedEnv(), HEARTBEAT_TTL_MS: '9000' };
  const agent = loadConfig(agentConfigSchema, env);
  const orchestrator = loadOrchestratorConfig({ ...env, API_KEYS: 'k'.repeat(16) });
  expect([agent.HEARTBEAT_TTL_MS, orchestrator.HEARTBEAT_TTL_MS]).toEqual([9000, 9000]);
  expect(readSharedEnv()).toHaveProperty('HEARTBEAT_TTL_MS');
});

test('what an agent writes, an orchestrator reads: live and healthy, draining, gone when it leaves', async () => {
  const log = createLogger({ service: 'test', instance: 'hb', level: 'silent' });
  const config = loadConfig(agentConfigSchema, {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `hb${Date.now()}:`,
  });
  const conn = createRedis(config, 'command', log, 'hb');
  await waitReady(conn, 3000);
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  let status: AgentHealthReport['status'] = 'ok';
  const heartbeat = startHeartbeat({
    redis: conn,
    keys,
    pool: 'git',
    instance: 'git-1',
    intervalMs: 50,
    ttlMs: 400,
    report: () => ({ status }),
    log,
  });
  try {
    await heartbeat.beat();
    expect(await readPoolHealth(conn, keys, 'git', 400)).toEqual({ instances: 1, healthy: 1 });
    expect(await readPoolHealth(conn, keys, 'llm', 400)).toEqual({ instances: 0, healthy: 0 });
    status = 'draining';
    await heartbeat.beat();
    expect(await readPoolHealth(conn, keys, 'git', 400)).toEqual({ instances: 1, healthy: 0 });
    await heartbeat.stop();
    expect(await readPoolHealth(conn, keys, 'git', 400)).toEqual({ instances: 0, healthy: 0 });
  } finally {
    await heartbeat.stop();
    await closeRedis(conn);
  }
});

test('an agent exports agent_redis_connected: 1 while its Redis is ready, 0 while it is gone', async () => {
  const agent = await startTestAgent({ redisUrl: redis.url });
  const connected = async () =>
    sample(parseMetrics(await (await fetch(`${agent.url}/metrics`)).text()), 'agent_redis_connected', {
      pool: 'git',
    });
  const until = async (value: number) => {
    for (let i = 0; i < 60 && (await connected()) !== value; i += 1) await sleep(50);
    return connected();
  };
  try {
    expect(await until(1)).toBe(1);
    await redis.stop();
    expect(await until(0)).toBe(0);
    await redis.start();
    expect(await until(1)).toBe(1);
  } finally {
    await redis.start();
    await agent.stop();
  }
});
