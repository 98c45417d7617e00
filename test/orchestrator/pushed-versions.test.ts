import { writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { startLlmSimulator, type LlmSimulator } from '../../load/llm-simulator/simulator.ts';
import { buildRepos, type Fixture } from '../git-agent/fixture.ts';
import { hello, providersEnv } from '../llm-router/helpers.ts';
import { buildVault, type Vault } from '../obsidian-agent/vault-fixture.ts';
import { parseMetrics } from '../support/metrics.ts';
import { auth, pushedVersionsCurrent } from '../support/orchestrator.ts';
import { spawnOrchestrator, spawnService, type ServiceProcess } from '../support/process.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';

/**
 * The cache-hit behaviour with the real pools: a git agent over real repositories, an Obsidian
 * agent over a vault, the LLM router in front of the provider simulator, and two orchestrators.
 */
let redis: RedisServer;
let fx: Fixture;
let vault: Vault;
let sim: LlmSimulator;
let git: ServiceProcess;
let obsidian: ServiceProcess;
let llm: ServiceProcess;
let a: ServiceProcess;
let b: ServiceProcess;

const agentEnv = (extra: Record<string, string>) => ({
  REDIS_URL: redis.url,
  SHUTDOWN_DRAIN_DELAY_MS: '0',
  HEARTBEAT_INTERVAL_MS: '200',
  HEARTBEAT_TTL_MS: '1000',
  ...extra,
});

beforeAll(async () => {
  redis = await startRedis();
  fx = buildRepos();
  vault = buildVault();
  sim = await startLlmSimulator();
  [git, obsidian, llm] = await Promise.all([
    spawnService('services/git-agent/main.ts', agentEnv({ GIT_REPOS_ROOT: fx.root }), 'agent listening'),
    spawnService(
      'services/obsidian-agent/main.ts',
      agentEnv({ OBSIDIAN_VAULT_PATH: vault.vault }),
      'agent listening',
    ),
    spawnService(
      'services/llm-router/main.ts',
      agentEnv(providersEnv([{ name: 'main', sim }])),
      'agent listening',
    ),
  ]);
  const orchestratorEnv = (id: string) => ({
    INSTANCE_ID: id,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    REDIS_URL: redis.url,
    AGENT_GIT_URL: git.url,
    AGENT_OBSIDIAN_URL: obsidian.url,
    AGENT_LLM_URL: llm.url,
    AGENT_TIMEOUT_MS: '5000',
  });
  [a, b] = await Promise.all([
    spawnOrchestrator(orchestratorEnv('orch-a')),
    spawnOrchestrator(orchestratorEnv('orch-b')),
  ]);
  for (const o of [a, b]) {
    expect(await pushedVersionsCurrent(o.url, 'git')).toBe(true);
    expect(await pushedVersionsCurrent(o.url, 'obsidian')).toBe(true);
  }
});
afterAll(async () => {
  for (const p of [a, b, git, obsidian, llm]) p?.kill();
  await Promise.all([a, b, git, obsidian, llm].map((p) => p?.exited));
  await sim?.stop();
  await redis?.close();
  fx?.cleanup();
  vault?.cleanup();
});

const task = (o: ServiceProcess, agent: string, action: string, input: unknown) =>
  request(o.url).post('/v1/tasks').set(auth).send({ agent, action, input });

/** Sum of a metric's series whose labels pass `match`, from a service's /metrics. */
async function total(p: ServiceProcess, name: string, match: (labels: string) => boolean = () => true) {
  const metrics = parseMetrics(await (await fetch(`${p.url}/metrics`)).text());
  let sum = 0;
  for (const [key, value] of metrics) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric === name && match(brace < 0 ? '' : key.slice(brace))) sum += value;
  }
  return sum;
}
/** Action calls an agent has answered (run and resolve), and git processes it has started. */
const actionCalls = (p: ServiceProcess) =>
  total(p, 'agent_http_requests_total', (l) => l.includes('route="/v1/actions/:name'));
const gitProcesses = () => total(git, 'agent_git_commands_total');

describe('a HIT whose version was pushed calls no agent', () => {
  test('git: no HTTP call to the agent and no git process, on either orchestrator', async () => {
    const input = { repo: 'project', ref: 'main', limit: 5 };
    expect((await task(a, 'git', 'log', input)).headers['x-cache']).toBe('MISS');
    const [calls, processes] = [await actionCalls(git), await gitProcesses()];
    for (let i = 0; i < 25; i += 1) {
      for (const o of [a, b]) {
        const res = await task(o, 'git', 'log', input);
        expect(res.status).toBe(200);
        expect(res.headers['x-cache']).toBe('HIT');
        expect(res.body.output.commit).toBe(fx.rev('main'));
      }
    }
    expect(await actionCalls(git)).toBe(calls);
    expect(await gitProcesses()).toBe(processes);
    // ... and the orchestrators say so: every lookup was keyed by a pushed version.
    expect(await total(b, 'orchestrator_cache_versions_total', (l) => l.includes('via="resolve"'))).toBe(0);
  });

  test('obsidian read and search: no call to the agent', async () => {
    const read = { path: 'Projects/Alpha.md' };
    const search = { query: 'quantum' };
    expect((await task(a, 'obsidian', 'read', read)).headers['x-cache']).toBe('MISS');
    expect((await task(a, 'obsidian', 'search', search)).headers['x-cache']).toBe('MISS');
    expect((await task(a, 'obsidian', 'list', { path: 'Projects' })).headers['x-cache']).toBe('MISS');
    const calls = await actionCalls(obsidian);
    for (let i = 0; i < 20; i += 1) {
      for (const o of [a, b]) {
        expect((await task(o, 'obsidian', 'read', read)).headers['x-cache']).toBe('HIT');
        expect((await task(o, 'obsidian', 'search', search)).headers['x-cache']).toBe('HIT');
        expect((await task(o, 'obsidian', 'list', { path: 'Projects' })).headers['x-cache']).toBe('HIT');
      }
    }
    expect(await actionCalls(obsidian)).toBe(calls);
  });

  test('llm: a deterministic chat is cacheable by the declared rule, with no router call on a HIT', async () => {
    const input = hello('cache me', { temperature: 0 });
    expect((await task(a, 'llm', 'chat', input)).headers['x-cache']).toBe('MISS');
    const [calls, provider] = [await actionCalls(llm), sim.requests.length];
    for (let i = 0; i < 20; i += 1) {
      for (const o of [a, b]) expect((await task(o, 'llm', 'chat', input)).headers['x-cache']).toBe('HIT');
    }
    expect(await actionCalls(llm)).toBe(calls);
    expect(sim.requests.length).toBe(provider);
  });
});

test('a sampled chat is answered uncached (BYPASS), counted apart from misses, never as a skipped store', async () => {
  const lookups = (result: string) =>
    total(
      a,
      'orchestrator_cache_lookups_total',
      (l) => l.includes('pool="llm"') && l.includes(`result="${result}"`),
    );
  const before = {
    miss: await lookups('miss'),
    uncacheable: await lookups('uncacheable'),
    skipped: await total(a, 'orchestrator_cache_stores_skipped_total'),
    resolves: await total(llm, 'agent_http_requests_total', (l) => l.includes('/resolve')),
  };
  const input = hello('roll the dice', { temperature: 0.8 });
  const answers = [await task(a, 'llm', 'chat', input), await task(a, 'llm', 'chat', input)];
  expect(answers.map((r) => [r.status, r.headers['x-cache']])).toEqual([
    [200, 'BYPASS'],
    [200, 'BYPASS'],
  ]);
  expect(await lookups('uncacheable')).toBe(before.uncacheable + 2);
  expect(await lookups('miss')).toBe(before.miss);
  expect(await total(a, 'orchestrator_cache_stores_skipped_total')).toBe(before.skipped);
  // Decided from the declared rule: the router was asked for the chats, never for a version.
  expect(await total(llm, 'agent_http_requests_total', (l) => l.includes('/resolve'))).toBe(before.resolves);
});

/**
 * Sends `ask` to both orchestrators back to back from `moved` on, for `forMs`, and returns per
 * instance when the new answer first came and what came after it.
 */
async function follow(
  ask: (o: ServiceProcess) => Promise<string>,
  isNew: (v: string) => boolean,
  forMs = 2000,
) {
  const moved = Date.now();
  const seen = new Map<string, { firstNewMs: number | undefined; oldAfterNew: number }>();
  for (const o of [a, b]) seen.set(o.url, { firstNewMs: undefined, oldAfterNew: 0 });
  await Promise.all(
    [a, b].map(async (o) => {
      const s = seen.get(o.url)!;
      while (Date.now() - moved < forMs) {
        const value = await ask(o);
        if (isNew(value)) s.firstNewMs ??= Date.now() - moved;
        else if (s.firstNewMs !== undefined) s.oldAfterNew += 1;
      }
    }),
  );
  return [...seen.values()];
}

describe('versions propagate to every orchestrator within the bound', () => {
  test('a branch moved with git update-ref', async () => {
    const input = { repo: 'project', ref: 'feature', path: 'README.md' };
    const before = await task(a, 'git', 'read', input);
    expect(before.body.output.commit).toBe(fx.commits.f1);
    expect((await task(b, 'git', 'read', input)).headers['x-cache']).toBe('HIT');
    fx.git(['update-ref', 'refs/heads/feature', fx.commits.c1]);
    const results = await follow(
      async (o) => {
        const res = await task(o, 'git', 'read', input);
        expect(res.status).toBe(200);
        return `${res.body.output.commit} ${res.body.output.content}`;
      },
      (v) => v === `${fx.commits.c1} # Project\n\nhello world\n`,
    );
    for (const r of results) {
      expect(r.firstNewMs).toBeLessThan(1000);
      expect(r.oldAfterNew).toBe(0);
    }
  });

  test('a note edited on disk, outside the agent', async () => {
    const input = { path: 'Projects/Beta.md' };
    expect((await task(a, 'obsidian', 'read', input)).status).toBe(200);
    expect((await task(b, 'obsidian', 'read', input)).headers['x-cache']).toBe('HIT');
    writeFileSync(path.join(vault.vault, 'Projects/Beta.md'), '# Beta\n\nRewritten in Obsidian.\n');
    const results = await follow(
      async (o) => {
        const res = await task(o, 'obsidian', 'read', input);
        expect(res.status).toBe(200);
        return res.body.output.body as string;
      },
      (body) => body.includes('Rewritten in Obsidian'),
    );
    for (const r of results) {
      expect(r.firstNewMs).toBeLessThan(1000);
      expect(r.oldAfterNew).toBe(0);
    }
  });

  test('a note added on disk reaches search and the folder listing', async () => {
    const search = { query: 'zeppelin' };
    const list = { path: 'Projects' };
    expect((await task(a, 'obsidian', 'search', search)).body.output.total).toBe(0);
    await task(a, 'obsidian', 'list', list);
    writeFileSync(path.join(vault.vault, 'Projects/Zeppelin.md'), 'A zeppelin.\n');
    const results = await follow(
      async (o) => {
        const [s, l] = await Promise.all([
          task(o, 'obsidian', 'search', search),
          task(o, 'obsidian', 'list', list),
        ]);
        const listed = (l.body.output.entries as Array<{ name: string }>).some(
          (e) => e.name === 'Zeppelin.md',
        );
        return `${s.body.output.total} ${listed}`;
      },
      (v) => v === '1 true',
    );
    for (const r of results) {
      expect(r.firstNewMs).toBeLessThan(1000);
      expect(r.oldAfterNew).toBe(0);
    }
  });
});
