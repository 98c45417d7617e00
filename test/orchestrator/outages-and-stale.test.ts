import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { buildRepos, type Fixture } from '../git-agent/fixture.ts';
import { parseMetrics } from '../support/metrics.ts';
import { auth, pushedVersionsCurrent } from '../support/orchestrator.ts';
import { freePort } from '../../harness/redis-server.ts';
import { spawnOrchestrator, spawnService, type ServiceProcess } from '../support/process.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';

/** Redis going away and the git pool going away, with the real git agent and an orchestrator process. */
let redis: RedisServer;
let fx: Fixture;
let git: ServiceProcess;
let orch: ServiceProcess;
let gitPort: number;

const STALE_SECONDS = 3;
const startGit = () =>
  spawnService(
    'services/git-agent/main.ts',
    {
      PORT: String(gitPort),
      REDIS_URL: redis.url,
      GIT_REPOS_ROOT: fx.root,
      GIT_STALE_IF_ERROR_SECONDS: String(STALE_SECONDS),
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      HEARTBEAT_INTERVAL_MS: '200',
      HEARTBEAT_TTL_MS: '1000',
    },
    'agent listening',
  );

beforeAll(async () => {
  redis = await startRedis();
  fx = buildRepos();
  gitPort = await freePort();
  git = await startGit();
  orch = await spawnOrchestrator({
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    REDIS_URL: redis.url,
    REDIS_COMMAND_TIMEOUT_MS: '300',
    AGENT_GIT_URL: `http://127.0.0.1:${gitPort}`,
    AGENT_TIMEOUT_MS: '2000',
    BREAKER_RESET_TIMEOUT_MS: '1000',
  });
  expect(await pushedVersionsCurrent(orch.url, 'git')).toBe(true);
});
afterAll(async () => {
  for (const p of [orch, git]) p?.kill();
  await Promise.all([orch?.exited, git?.exited]);
  await redis?.close();
  fx?.cleanup();
});

const read = (ref: string, path = 'README.md') =>
  request(orch.url)
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'read', input: { repo: 'project', ref, path } })
    .timeout(8000);

/** A metric of the orchestrator, or of the git agent (listening on gitPort, not the port spawnService chose). */
const metric = async (p: ServiceProcess, name: string, match: (labels: string) => boolean) => {
  const url = p === git ? `http://127.0.0.1:${gitPort}` : p.url;
  const metrics = parseMetrics(await (await fetch(`${url}/metrics`)).text());
  let sum = 0;
  for (const [key, value] of metrics) if (key.startsWith(`${name}{`) && match(key)) sum += value;
  return sum;
};

test('Redis stopped: answers fall back to the agent, never a wrong version; Redis back: pushed versions resume without restarts', async () => {
  const pid = orch.child.pid;
  expect((await read('main')).headers['x-cache']).toBe('MISS');
  expect((await read('main')).headers['x-cache']).toBe('HIT');

  await redis.stop();
  const during = await read('main');
  expect(during.status).toBe(200);
  expect(during.headers['x-cache']).toBe('BYPASS');
  expect(during.body.output.commit).toBe(fx.rev('main'));
  // The branch moves while nothing can be published: every answer is the agent's, for the commit of the moment.
  fx.git(['update-ref', 'refs/heads/main', fx.commits.c2]);
  for (let i = 0; i < 5; i += 1) {
    const res = await read('main');
    expect([res.status, res.headers['x-cache'], res.body.output.commit]).toEqual([
      200,
      'BYPASS',
      fx.commits.c2,
    ]);
  }

  await redis.start(); // same port, no data: the agent publishes everything again, the orchestrator loads it
  expect(await pushedVersionsCurrent(orch.url, 'git', 10000)).toBe(true);
  const after = await read('main');
  expect(after.status).toBe(200);
  expect(after.body.output.commit).toBe(fx.commits.c2);
  const calls = await metric(git, 'agent_http_requests_total', (l) => l.includes('/v1/actions/:name'));
  const hit = await read('main');
  expect([hit.headers['x-cache'], hit.body.output.commit]).toEqual(['HIT', fx.commits.c2]);
  expect(await metric(git, 'agent_http_requests_total', (l) => l.includes('/v1/actions/:name'))).toBe(calls);
  expect(orch.child.pid).toBe(pid);
  expect(orch.child.exitCode).toBeNull();
});

test('pool killed: the cached answer is served STALE with Age, the problem document past the maximum staleness, fresh answers once the pool is back', async () => {
  const file = 'src/app/main.ts';
  const warm = await read('main', file);
  expect(warm.headers['x-cache']).toBe('MISS');
  const storedAt = Date.now();
  expect((await read('main', file)).headers['x-cache']).toBe('HIT');

  git.kill('SIGKILL');
  await git.exited;
  // The agent's versions stop being current once it has been silent for VERSIONS_MAX_SILENCE_MS (1 s).
  await sleep(1300);
  // Failed calls open the breaker: a stale answer is served either way, and counted by why.
  const staleBy = (reason: string) =>
    metric(orch, 'orchestrator_cache_stale_answers_total', (l) => l.includes(`reason="${reason}"`));
  const stale = [];
  while (stale.length < 40 && (stale.length < 8 || (await staleBy('circuit_open')) === 0)) {
    stale.push(await read('main', file));
  }
  expect(await staleBy('unavailable')).toBeGreaterThan(0);
  expect(await staleBy('circuit_open')).toBeGreaterThan(0);
  for (const res of stale) {
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe('STALE');
    expect(res.body.output).toEqual(warm.body.output);
    const age = Number(res.headers.age);
    expect(age).toBeGreaterThanOrEqual(1);
    expect(age).toBeLessThanOrEqual(Math.ceil((Date.now() - storedAt) / 1000));
  }
  expect(await metric(orch, 'orchestrator_cache_stale_answers_total', (l) => l.includes('pool="git"'))).toBe(
    stale.length,
  );
  expect(await metric(orch, 'orchestrator_cache_lookups_total', (l) => l.includes('result="stale"'))).toBe(
    stale.length,
  );

  // Nothing was ever stored for this file: the problem document, as before.
  const never = await read('main', 'docs/new-name.md');
  expect(never.status).toBe(503);
  expect(never.headers['content-type']).toContain('application/problem+json');

  await sleep(storedAt + STALE_SECONDS * 1000 + 300 - Date.now());
  const tooOld = await read('main', file);
  expect(tooOld.status).toBe(503);
  expect(tooOld.headers['content-type']).toContain('application/problem+json');
  expect(tooOld.body.type).toMatch(/agent-(unavailable|circuit-open)$/);

  git = await startGit();
  expect(await pushedVersionsCurrent(orch.url, 'git', 10000)).toBe(true);
  const back = await read('main', file);
  expect(back.status).toBe(200);
  expect(back.headers['x-cache']).toBe('HIT'); // fresh: the version is known again, and the answer within its TTL
  expect(back.headers.age).toBeUndefined();
  expect(back.body.output).toEqual(warm.body.output);
});
