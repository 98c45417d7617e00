import request from 'supertest';
import { parseMetrics, sample } from '../support/metrics.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { auth, startOrchestrator, task } from '../support/orchestrator.ts';

let redis: RedisServer;
let agent: TestAgent;
let orch: Awaited<ReturnType<typeof startOrchestrator>>;

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
  orch = await startOrchestrator({
    REDIS_URL: redis.url,
    AGENT_GIT_URL: agent.url,
    CPU_LIMIT: '2',
    MEMORY_LIMIT: '4294967296',
  });
});
afterAll(async () => {
  await orch.stop();
  await agent.stop();
  await redis.close();
});

test('a known sequence of requests produces exactly the counts it must', async () => {
  expect((await task(orch.url, { agent: 'git', action: 'echo', input: { m: 1 } })).headers['x-cache']).toBe(
    'MISS',
  );
  expect((await task(orch.url, { agent: 'git', action: 'echo', input: { m: 1 } })).headers['x-cache']).toBe(
    'HIT',
  );
  expect((await task(orch.url, { agent: 'git', action: 'echo', input: { m: 1 } })).headers['x-cache']).toBe(
    'HIT',
  );
  expect(
    (await task(orch.url, { agent: 'git', action: 'echo', input: { m: 1 }, cache: 'bypass' })).headers[
      'x-cache'
    ],
  ).toBe('BYPASS');
  expect((await task(orch.url, { agent: 'git', action: 'typed', input: { n: 'x' } })).status).toBe(400); // agent rejects input
  expect((await task(orch.url, { agent: 'nope', action: 'echo', input: {} })).status).toBe(400); // orchestrator rejects body
  expect((await request(orch.url).post('/v1/tasks').send({})).status).toBe(401);
  expect((await request(orch.url).get('/v1/sessions/abc').set(auth)).status).toBe(404);
  expect((await request(orch.url).get('/no/such/path')).status).toBe(404);

  const m = parseMetrics((await request(orch.url).get('/metrics')).text);
  const http = (status: string, route = '/v1/tasks', method = 'POST') =>
    sample(m, 'orchestrator_http_requests_total', { route, method, status });
  expect(http('200')).toBe(4);
  expect(http('400')).toBe(2);
  expect(http('401')).toBe(1); // labelled by the route template although auth stopped it before routing
  expect(http('404', '/v1/sessions/:id', 'GET')).toBe(1);
  expect(http('404', 'unmatched', 'GET')).toBe(1);
  expect(
    sample(m, 'orchestrator_http_request_duration_seconds_count', {
      route: '/v1/tasks',
      method: 'POST',
      status: '200',
    }),
  ).toBe(4);

  expect(sample(m, 'orchestrator_cache_lookups_total', { pool: 'git', result: 'miss' })).toBe(2); // echo MISS, typed MISS
  expect(sample(m, 'orchestrator_cache_lookups_total', { pool: 'git', result: 'hit' })).toBe(2);
  expect(sample(m, 'orchestrator_cache_lookups_total', { pool: 'git', result: 'bypass' })).toBe(1);
  expect(sample(m, 'orchestrator_agent_calls_total', { pool: 'git', outcome: 'success' })).toBe(2);
  expect(sample(m, 'orchestrator_agent_calls_total', { pool: 'git', outcome: 'client_error' })).toBe(1);
  expect(
    sample(m, 'orchestrator_agent_call_duration_seconds_count', { pool: 'git', outcome: 'success' }),
  ).toBe(2);
  expect(sample(m, 'orchestrator_auth_failures_total')).toBe(1);

  expect(sample(m, 'orchestrator_circuit_breaker_state', { pool: 'git', state: 'closed' })).toBe(1);
  expect(sample(m, 'orchestrator_circuit_breaker_state', { pool: 'git', state: 'open' })).toBe(0);
  expect(sample(m, 'orchestrator_cpu_limit_cores')).toBe(2);
  expect(sample(m, 'orchestrator_memory_limit_bytes')).toBe(4294967296);
  expect(sample(m, 'orchestrator_max_connections')).toBe(1000);
  expect(sample(m, 'orchestrator_ready')).toBe(1);
  expect(sample(m, 'orchestrator_redis_connected')).toBe(1);
  expect(sample(m, 'orchestrator_process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(sample(m, 'orchestrator_process_cpu_seconds_total')).toBeGreaterThan(0);
  expect(sample(m, 'orchestrator_queue_length', { pool: 'git' })).toBe(0);

  // The seed's scrape job keeps only orchestrator_.*: nothing may fall outside it.
  const names = [...m.keys()].map((k) => k.replace(/\{.*$/, ''));
  expect(names.filter((n) => !n.startsWith('orchestrator_'))).toEqual([]);
  // Bounded labels: hostile paths never become label values.
  expect([...m.keys()].some((k) => k.includes('/no/such/path'))).toBe(false);
});

test('the async queue length and oldest age follow the stream', async () => {
  agent.control.delayMs = 0;
  const accepted = await request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'slow', input: { ms: 1200, tag: `q-${Date.now()}` }, mode: 'async' });
  expect(accepted.status).toBe(202);
  let seen = false;
  for (let i = 0; i < 40 && !seen; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    const m = parseMetrics((await request(orch.url).get('/metrics')).text);
    seen =
      sample(m, 'orchestrator_queue_length', { pool: 'git' }) === 1 &&
      sample(m, 'orchestrator_queue_oldest_pending_age_seconds', { pool: 'git' })! > 0;
  }
  expect(seen).toBe(true);
  let drained = false;
  for (let i = 0; i < 60 && !drained; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    const m = parseMetrics((await request(orch.url).get('/metrics')).text);
    drained = sample(m, 'orchestrator_queue_length', { pool: 'git' }) === 0;
  }
  expect(drained).toBe(true);
  const m = parseMetrics((await request(orch.url).get('/metrics')).text);
  expect(sample(m, 'orchestrator_async_tasks_total', { pool: 'git', event: 'accepted' })).toBe(1);
  expect(sample(m, 'orchestrator_async_tasks_total', { pool: 'git', event: 'succeeded' })).toBe(1);
});
