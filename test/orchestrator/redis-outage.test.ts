import request from 'supertest';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { auth, startOrchestrator } from '../support/orchestrator.ts';

let redis: RedisServer;
let agent: TestAgent;
let orch: Awaited<ReturnType<typeof startOrchestrator>>;

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
  orch = await startOrchestrator({ REDIS_URL: redis.url, AGENT_GIT_URL: agent.url });
});
afterAll(async () => {
  await orch.stop();
  await agent.stop();
  await redis.close();
});

const echo = (input: Record<string, unknown>) =>
  request(orch.url).post('/v1/tasks').set(auth).send({ agent: 'git', action: 'echo', input }).timeout(5000);

test('Redis stopped: tasks are answered uncached and /health says degraded; Redis back: caching resumes by itself', async () => {
  expect((await echo({ k: 'warm' })).headers['x-cache']).toBe('MISS');
  expect((await echo({ k: 'warm' })).headers['x-cache']).toBe('HIT');

  await redis.stop();
  const started = Date.now();
  const during = await echo({ k: 'warm' });
  expect(during.status).toBe(200);
  expect(during.headers['x-cache']).toBe('BYPASS');
  expect(Date.now() - started).toBeLessThan(2000); // no hang on the dead connection

  for (let i = 0; i < 5; i += 1) {
    const res = await echo({ k: `outage-${i}` });
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe('BYPASS');
  }
  const health = await request(orch.url).get('/health');
  expect(health.status).toBe(200);
  expect(health.body.status).toBe('degraded');
  expect(health.body.checks.redis.ok).toBe(false);
  const metrics = await request(orch.url).get('/metrics');
  expect(metrics.text).toMatch(/orchestrator_redis_connected 0/);
  expect(metrics.text).toMatch(/orchestrator_cache_lookups_total\{pool="git",result="bypass"\} [1-9]/);

  // What needs Redis says so clearly instead of failing obscurely.
  const session = await request(orch.url).post('/v1/sessions').set(auth).send({});
  expect(session.status).toBe(503);
  expect(session.body.type).toMatch(/session-store-unavailable$/);
  expect(session.headers['retry-after']).toBeDefined();
  const asyncTask = await request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'echo', input: {}, mode: 'async' });
  expect(asyncTask.status).toBe(503);

  await redis.start(); // same port, empty data
  let resumed = false;
  for (let i = 0; i < 60 && !resumed; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    resumed = (await request(orch.url).get('/health')).body.checks.redis.ok === true;
  }
  expect(resumed).toBe(true);
  expect((await echo({ k: 'after' })).headers['x-cache']).toBe('MISS');
  expect((await echo({ k: 'after' })).headers['x-cache']).toBe('HIT');
  expect((await request(orch.url).get('/metrics')).text).toMatch(/orchestrator_redis_connected 1/);
});

test('Redis hung (accepting nothing, answering nothing): requests still answer within the command timeout', async () => {
  expect((await echo({ k: 'hang' })).status).toBe(200);
  redis.pause();
  try {
    const started = Date.now();
    const res = await echo({ k: 'hang-2' });
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect(Date.now() - started).toBeLessThan(2500); // REDIS_COMMAND_TIMEOUT_MS is 500 in tests
  } finally {
    redis.resume();
  }
  let back = false;
  for (let i = 0; i < 60 && !back; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    back = (await echo({ k: 'hang-3' })).headers['x-cache'] !== 'BYPASS';
  }
  expect(back).toBe(true);
});
