import { Redis } from 'ioredis';
import request from 'supertest';
import { startLlmSimulator, type LlmSimulator } from '../../load/llm-simulator/simulator.ts';
import { auth } from '../support/orchestrator.ts';
import { spawnService, type ServiceProcess, spawnOrchestrator, waitForLog } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis-server.ts';
import { chat, hello, providerKey, providersEnv } from './helpers.ts';

let redis: RedisServer;
let sim: LlmSimulator;
let router: ServiceProcess;
/** The orchestrator runs as a process too, so that its own log lines can be checked. */
let orch: ServiceProcess;

beforeAll(async () => {
  redis = await startRedis();
  sim = await startLlmSimulator({ behaviour: { api_key: providerKey('main') } });
  router = await spawnService(
    'services/llm-router/main.ts',
    {
      REDIS_URL: redis.url,
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      HEARTBEAT_INTERVAL_MS: '200',
      HEARTBEAT_TTL_MS: '1000',
      INSTANCE_ID: 'llm-router-under-test',
      LLM_REQUEST_DEADLINE_MS: '3000',
      ...providersEnv([
        { name: 'main', sim },
        // Same simulator, wrong key: the router's misconfiguration, for the "key never leaks" check.
        { name: 'badkey', sim, models: ['locked-model'], key: 'sk-wrong-key-fedcba9876543210' },
      ]),
    },
    'agent listening',
  );
  orch = await spawnOrchestrator({
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    REDIS_URL: redis.url,
    AGENT_LLM_URL: router.url,
    AGENT_TIMEOUT_MS: '5000',
  });
});
afterAll(async () => {
  orch?.kill();
  await orch?.exited;
  router?.kill();
  await router?.exited;
  await sim?.stop();
  await redis?.close();
});

const task = (input: Record<string, unknown>, correlationId: string) =>
  request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .set('X-Correlation-ID', correlationId)
    .send({ agent: 'llm', action: 'chat', input });

test('a deterministic chat is answered by the provider (MISS), then from the cache (HIT)', async () => {
  const input = hello('what is phoenix-orch?', { temperature: 0 });
  const first = await task(input, 'corr-llm-det-1');
  expect(first.status).toBe(200);
  expect(first.headers['x-cache']).toBe('MISS');
  expect(first.body.output.choices[0].message.content).toBe('echo: what is phoenix-orch?');
  expect(first.body.output.provider).toBe('main');
  const calls = sim.requests.length;

  const second = await task(input, 'corr-llm-det-2');
  expect(second.status).toBe(200);
  expect(second.headers['x-cache']).toBe('HIT');
  expect(second.body.output).toEqual(first.body.output);
  expect(sim.requests.length).toBe(calls);
});

test('the correlation id reaches the router logs and the provider', async () => {
  const res = await task(hello('trace me', { temperature: 0.7 }), 'corr-llm-trace-1');
  expect(res.status).toBe(200);
  expect(sim.requests.some((q) => q.correlation_id === 'corr-llm-trace-1')).toBe(true);
  // Both services write their logs asynchronously: wait briefly for a line of each.
  const logged = (p: ServiceProcess) => p.logs.some((l) => l.correlation_id === 'corr-llm-trace-1');
  for (let i = 0; i < 40 && !(logged(router) && logged(orch)); i += 1)
    await new Promise((r) => setTimeout(r, 50));
  expect(logged(router)).toBe(true);
  expect(logged(orch)).toBe(true);
});

test('a sampled chat is never served from the cache: answered uncached, BYPASS', async () => {
  const input = hello('roll the dice', { temperature: 0.8 });
  const calls = sim.requests.length;
  const a = await task(input, 'corr-llm-sampled-1');
  const b = await task(input, 'corr-llm-sampled-2');
  expect([a.status, b.status]).toEqual([200, 200]);
  expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['BYPASS', 'BYPASS']);
  expect(sim.requests.length).toBe(calls + 2);
});

test('invalid input is a 400 naming the field, through the orchestrator', async () => {
  const res = await task(
    { model: 'sim-model', messages: [{ role: 'user', content: 'x' }], stream: true },
    'corr-bad',
  );
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body.errors)).toContain('input.stream');
});

test('provider keys never appear in problems or in the router logs', async () => {
  const res = await chat(router.url, hello('locked', { model: 'locked-model' }), {
    'X-Correlation-ID': 'corr-llm-badkey',
  });
  expect(res.status).toBe(502);
  expect(res.body.attempts).toEqual([{ provider: 'badkey', status: 401, duration_ms: expect.any(Number) }]);
  const viaOrch = await task(hello('locked', { model: 'locked-model' }), 'corr-llm-badkey-2');
  expect(viaOrch.status).toBeGreaterThanOrEqual(500);
  // Logs arrive in batches: wait for the attempt's line, then check every line written so far.
  await waitForLog(router, (l) => l.correlation_id === 'corr-llm-badkey' && l.provider === 'badkey');
  await waitForLog(router, (l) => l.correlation_id === 'corr-llm-badkey-2');
  for (const text of [res.text, JSON.stringify(viaOrch.body), ...router.lines]) {
    expect(text).not.toContain(providerKey('main'));
    expect(text).not.toContain('sk-wrong-key-fedcba9876543210');
  }
  expect(router.logs.some((l) => l.correlation_id === 'corr-llm-badkey' && l.provider === 'badkey')).toBe(
    true,
  );
});

test('the heartbeat in Redis reports each provider and its breaker state', async () => {
  const redisClient = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redisClient.connect();
    const raw = await redisClient.get('po:agent:llm:llm-router-under-test');
    expect(JSON.parse(raw!).detail).toEqual({
      providers: { main: { breaker: 'closed', weight: 1 }, badkey: { breaker: 'closed', weight: 1 } },
    });
  } finally {
    redisClient.disconnect();
  }
});
