import { spawnSync } from 'node:child_process';
import http from 'node:http';
import request from 'supertest';
import { spawnOrchestrator, type ServiceProcess } from '../support/process.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { auth, startOrchestrator } from '../support/orchestrator.ts';

let redis: RedisServer;
let agent: TestAgent;
const children: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await agent.stop();
  await redis.close();
});

const waitFor = async (what: string, check: () => Promise<boolean> | boolean, ms = 10000) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

test('graceful shutdown: in-flight request completes, new ones are refused after the drain delay, exit 0', async () => {
  const orch = await spawnOrchestrator({
    REDIS_URL: redis.url,
    AGENT_GIT_URL: agent.url,
    SHUTDOWN_DRAIN_DELAY_MS: '700',
    SHUTDOWN_TIMEOUT_MS: '5000',
  });
  children.push(orch);
  const inFlight = request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'slow', input: { ms: 1500, tag: `drain-${Date.now()}` } });
  const done = inFlight.then((r) => r);
  await waitFor('the slow call to reach the agent', () => agent.calls('slow') > 0);
  orch.kill('SIGTERM');

  // During the drain delay: still serving, but readiness is false so load balancers stop sending.
  await new Promise((r) => setTimeout(r, 150));
  const health = await request(orch.url).get('/health');
  expect(health.status).toBe(503);
  expect(health.body.status).toBe('draining');
  expect((await request(orch.url).get('/health/live')).status).toBe(200);

  // After the drain delay: the listener is closed.
  await new Promise((r) => setTimeout(r, 800));
  await expect(request(orch.url).get('/health/live')).rejects.toThrow(
    /ECONNREFUSED|socket hang up|ECONNRESET/,
  );

  const res = await done;
  expect(res.status).toBe(200);
  expect(res.body.output.slept).toBe(1500);
  expect(await orch.exited).toBe(0);
  const messages = orch.logs.map((l) => l.msg);
  expect(messages).toEqual(expect.arrayContaining(['draining', 'shutdown complete']));
});

test('a second signal ends the process at once with exit 1', async () => {
  const orch = await spawnOrchestrator({ REDIS_URL: redis.url, SHUTDOWN_DRAIN_DELAY_MS: '10000' });
  children.push(orch);
  orch.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  orch.kill('SIGTERM');
  expect(await orch.exited).toBe(1);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('the shutdown bound ends a stuck shutdown with exit 1', async () => {
  const orch = await spawnOrchestrator({
    REDIS_URL: redis.url,
    AGENT_GIT_URL: agent.url,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '500',
    AGENT_TIMEOUT_MS: '10000',
  });
  children.push(orch);
  const hanging = request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'slow', input: { ms: 5000, tag: `stuck-${Date.now()}` } })
    .catch((err: Error) => err);
  await waitFor('the call to reach the agent', () => agent.calls('slow') > 1);
  const started = Date.now();
  orch.kill('SIGTERM');
  expect(await orch.exited).toBe(1);
  expect(Date.now() - started).toBeLessThan(3000);
  await hanging;
});

test('bad configuration stops the process with a message naming each bad variable', () => {
  const result = spawnSync(process.execPath, ['services/orchestrator/main.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: 'eighty',
      API_KEYS: 'short',
      AGENT_LLM_URL: 'not a url',
      LOG_LEVEL: 'loud',
    },
    encoding: 'utf8',
    timeout: 10000,
  });
  expect(result.status).toBe(78);
  for (const name of ['PORT', 'API_KEYS', 'AGENT_LLM_URL', 'LOG_LEVEL'])
    expect(result.stderr).toContain(name);
  expect(result.stderr).not.toContain('short'); // secrets are not echoed
});

test('an async task whose consumer is killed mid-task is finished by another instance', async () => {
  const common = {
    REDIS_URL: redis.url,
    AGENT_GIT_URL: agent.url,
    AGENT_TIMEOUT_MS: '3000',
    TASK_CLAIM_IDLE_MS: '3500',
  };
  const doomed = await spawnOrchestrator({ ...common, INSTANCE_ID: 'doomed' });
  children.push(doomed);
  const tag = `orphan-${Date.now()}`;
  const accepted = await request(doomed.url)
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'slow', input: { ms: 1000, tag }, mode: 'async' });
  expect(accepted.status).toBe(202);
  await waitFor('the doomed instance to start the task', async () => {
    const s = await request(doomed.url).get(accepted.body.status_url).set(auth);
    return s.body.status === 'running';
  });
  doomed.kill('SIGKILL');
  expect(await doomed.exited).toBe('SIGKILL');

  const survivor = await startOrchestrator({ ...common, INSTANCE_ID: 'survivor' });
  try {
    let status: request.Response | undefined;
    await waitFor(
      'the survivor to finish the task',
      async () => {
        status = await request(survivor.url).get(accepted.body.status_url).set(auth);
        return status.body.status === 'succeeded';
      },
      15000,
    );
    expect(status!.body.attempts).toBe(2);
    expect(status!.body.result.output).toEqual({ slept: 1000, tag });
    const metrics = await request(survivor.url).get('/metrics');
    expect(metrics.text).toMatch(/orchestrator_async_tasks_total\{pool="git",event="reclaimed"\} 1/);
  } finally {
    await survivor.stop();
  }
}, 30000);

test('connections beyond MAX_CONNECTIONS get a 503 problem and the instance keeps serving', async () => {
  const orch = await startOrchestrator({ REDIS_URL: redis.url, MAX_CONNECTIONS: '3', INSTANCE_ID: 'capped' });
  const agentOpts = new http.Agent({ keepAlive: true, maxSockets: 10 });
  try {
    const hold = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<http.IncomingMessage>((resolve, reject) => {
            http
              .get(`${orch.url}/health/live`, { agent: agentOpts }, (res) => {
                res.resume();
                res.on('end', () => resolve(res));
              })
              .on('error', reject);
          }),
      ),
    );
    expect(hold.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const refused = await fetch(`${orch.url}/health/live`, { headers: { connection: 'close' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(((await refused.json()) as { type: string }).type).toMatch(/too-many-connections$/);
    agentOpts.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const ok = await fetch(`${orch.url}/metrics`, { headers: { connection: 'close' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/orchestrator_connections_refused_total 1/);
  } finally {
    agentOpts.destroy();
    await orch.stop();
  }
});

test('every log line of a request carries its correlation id once, with service and instance', async () => {
  const orch = await spawnOrchestrator({
    REDIS_URL: redis.url,
    AGENT_GIT_URL: 'http://127.0.0.1:9', // nothing listens: the call fails and the breaker opens
    BREAKER_VOLUME_THRESHOLD: '1',
    INSTANCE_ID: 'log-check',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
  });
  children.push(orch);
  const id = `trace-${Date.now()}`;
  const res = await request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .set('X-Correlation-ID', id)
    .send({ agent: 'git', action: 'echo', input: {} });
  expect(res.status).toBe(503);
  expect(res.body.correlation_id).toBe(id);
  await waitFor('the access log line', () =>
    orch.logs.some((l) => l.correlation_id === id && l.msg === 'request failed'),
  );
  const mine = orch.lines.filter((line) => line.includes(id));
  expect(mine.length).toBeGreaterThanOrEqual(2); // the breaker warning inside the request, and the access log line
  for (const line of mine) {
    expect(line.match(/"correlation_id"/g)).toHaveLength(1);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toMatchObject({ correlation_id: id, service: 'orchestrator', instance: 'log-check' });
  }
  expect(orch.logs.find((l) => l.correlation_id === id && l.msg === 'circuit breaker open')).toMatchObject({
    level: 'warn',
    pool: 'git',
  });
  expect(orch.logs.find((l) => l.msg === 'request failed')).toMatchObject({
    level: 'warn',
    status: 503,
    method: 'POST',
    url: '/v1/tasks',
  });
  orch.kill('SIGTERM');
  expect(await orch.exited).toBe(0);
});
