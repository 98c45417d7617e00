import request from 'supertest';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { startOrchestrator, task } from '../support/orchestrator.ts';

let redis: RedisServer;
let agent: TestAgent;
let a: Awaited<ReturnType<typeof startOrchestrator>>;
let b: Awaited<ReturnType<typeof startOrchestrator>>;
const env = () => ({
  REDIS_URL: redis.url,
  AGENT_GIT_URL: agent.url,
  BREAKER_VOLUME_THRESHOLD: '3',
  BREAKER_ERROR_THRESHOLD_PERCENT: '50',
  BREAKER_RESET_TIMEOUT_MS: '1500',
});

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
  a = await startOrchestrator({ ...env(), INSTANCE_ID: 'orch-a' });
  b = await startOrchestrator({ ...env(), INSTANCE_ID: 'orch-b' });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  await agent.stop();
  await redis.close();
});

test('single flight: 50 concurrent identical requests over two instances run the agent once', async () => {
  const body = { agent: 'git', action: 'slow', input: { ms: 300, tag: `sf-${Date.now()}` } };
  const before = agent.calls('slow');
  const responses = await Promise.all(
    Array.from({ length: 50 }, (_, i) => task(i % 2 ? a.url : b.url, body)),
  );
  expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
  expect(agent.calls('slow') - before).toBe(1);
  const caches = responses.map((r) => r.headers['x-cache']);
  expect(caches.filter((c) => c === 'MISS')).toHaveLength(1);
  expect(caches.filter((c) => c === 'HIT')).toHaveLength(49);
  expect(new Set(responses.map((r) => JSON.stringify(r.body.output))).size).toBe(1);
});

test('single flight: waiters get the leader\u2019s failure instead of calling a failing agent again', async () => {
  const body = { agent: 'git', action: 'slow', input: { ms: 200, tag: `sf-fail-${Date.now()}` } };
  agent.control.failWith = 500;
  try {
    const before = agent.calls('slow');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => task(i % 2 ? a.url : b.url, body)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(502));
    expect(agent.calls('slow') - before).toBe(1);
  } finally {
    agent.control.failWith = 0;
  }
  // Nothing was cached, so the next request computes again.
  const after = await task(a.url, body);
  expect(after.status).toBe(200);
  expect(after.headers['x-cache']).toBe('MISS');
  // Let both breakers forget these failures before the breaker test counts its own.
  await new Promise((r) => setTimeout(r, 1600));
});

test('a breaker opened on one instance short-circuits the others within a second, and a newcomer adopts it', async () => {
  agent.control.failWith = 503;
  try {
    for (let i = 0; i < 4; i += 1) {
      const res = await task(a.url, { agent: 'git', action: 'count', input: {} });
      expect(res.status).toBe(503);
    }
    const opened = Date.now();
    let shortCircuited: request.Response | undefined;
    while (Date.now() - opened < 1000) {
      const before = agent.calls('count');
      const res = await task(b.url, { agent: 'git', action: 'count', input: {} });
      if (res.body.type?.endsWith('agent-circuit-open')) {
        expect(agent.calls('count')).toBe(before); // b did not call the agent
        shortCircuited = res;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(shortCircuited?.status).toBe(503);
    expect(shortCircuited?.headers['retry-after']).toBeDefined();
    expect(Date.now() - opened).toBeLessThan(1000);

    const health = await request(b.url).get('/health');
    expect(health.body.checks.agent_pools.detail.git.breaker).toBe('open');
    const metrics = await request(b.url).get('/metrics');
    expect(metrics.text).toMatch(/orchestrator_circuit_breaker_state\{pool="git",state="open"\} 1/);
    expect(metrics.text).toMatch(
      /orchestrator_agent_calls_total\{pool="git",outcome="short_circuit"\} [1-9]/,
    );

    const c = await startOrchestrator({ ...env(), INSTANCE_ID: 'orch-c' });
    try {
      const before = agent.calls('count');
      const res = await task(c.url, { agent: 'git', action: 'count', input: {} });
      expect(res.body.type).toMatch(/agent-circuit-open$/);
      expect(agent.calls('count')).toBe(before);
    } finally {
      await c.stop();
    }
  } finally {
    agent.control.failWith = 0;
  }

  // After the reset timeout a trial call succeeds, closes the breaker, and every instance follows.
  await new Promise((r) => setTimeout(r, 1600));
  const trial = await task(a.url, { agent: 'git', action: 'count', input: {} });
  expect(trial.status).toBe(200);
  await new Promise((r) => setTimeout(r, 200));
  const onB = await task(b.url, { agent: 'git', action: 'count', input: {} });
  expect(onB.status).toBe(200);
});

test('input errors (4xx from the agent) never open the breaker', async () => {
  for (let i = 0; i < 8; i += 1) {
    const res = await task(a.url, { agent: 'git', action: 'typed', input: { n: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('input.n');
  }
  const res = await task(a.url, { agent: 'git', action: 'typed', input: { n: 2 } });
  expect(res.status).toBe(200);
  expect(res.body.output).toEqual({ doubled: 4 });
});

test('agent health is shared through Redis: every instance sees the same pool view', async () => {
  const second = await startTestAgent({ redisUrl: redis.url, instance: 'second-git-agent' });
  try {
    const sees = async (url: string, n: number) => {
      for (let i = 0; i < 40; i += 1) {
        const res = await request(url).get('/health');
        if (res.body.checks.agent_pools.detail.git.healthy === n) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    expect(await sees(a.url, 2)).toBe(true);
    expect(await sees(b.url, 2)).toBe(true);
    const metrics = await request(a.url).get('/metrics');
    expect(metrics.text).toMatch(/orchestrator_agent_pool_healthy_instances\{pool="git"\} 2/);
    await second.stop(); // a stopping agent leaves the pool at once, not after its heartbeat expires
    expect(await sees(a.url, 1)).toBe(true);
    expect(await sees(b.url, 1)).toBe(true);
  } finally {
    await second.stop();
  }
});
