import { symlinkSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { API_KEY } from '../support/orchestrator.ts';
import { spawnOrchestrator, spawnService, type ServiceProcess } from '../support/process.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { buildVault, type Vault } from './vault-fixture.ts';

/** A second client of the same orchestrators, with its own key. */
const OTHER_KEY = 'other-client-key-0123456789';

let redis: RedisServer;
let vault: Vault;
let agent: ServiceProcess;
let orchestrator: ServiceProcess;

beforeAll(async () => {
  redis = await startRedis();
  vault = buildVault();
  symlinkSync('loop.md', path.join(vault.vault, 'loop.md'));
  agent = await spawnService(
    'services/obsidian-agent/main.ts',
    { REDIS_URL: redis.url, OBSIDIAN_VAULT_PATH: vault.vault, SHUTDOWN_DRAIN_DELAY_MS: '0' },
    'agent listening',
  );
  orchestrator = await spawnOrchestrator({
    API_KEYS: `${API_KEY},${OTHER_KEY}`,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    REDIS_URL: redis.url,
    AGENT_OBSIDIAN_URL: agent.url,
  });
});
afterAll(async () => {
  orchestrator?.kill();
  await orchestrator?.exited;
  agent?.kill();
  await agent?.exited;
  await redis?.close();
  vault?.cleanup();
});

const task = (key: string, action: string, input: unknown) =>
  request(orchestrator.url)
    .post('/v1/tasks')
    .set('Authorization', `Bearer ${key}`)
    .send({ agent: 'obsidian', action, input, cache: 'bypass' });

/** A note name of `bytes` bytes. */
const name = (bytes: number) => `${'n'.repeat(bytes - 3)}.md`;

test('30 requests from one key that the agent cannot serve are 4xx, and another key still reads', async () => {
  const mistakes = [
    { action: 'write', input: { path: name(256), body: 'x', expected_version: null } },
    { action: 'append', input: { path: `a/${name(256)}`, text: 'x', create_if_missing: true } },
    {
      action: 'write',
      input: { path: `${`${'€'.repeat(80)}/`.repeat(5)}x.md`, body: 'x', expected_version: null },
    },
    { action: 'write', input: { path: `${'d/'.repeat(64)}x.md`, body: 'x', expected_version: null } },
    { action: 'read', input: { path: 'loop.md' } },
    { action: 'write', input: { path: 'loop.md', body: 'x', expected_version: null } },
    { action: 'write', input: { path: 'Welcome.md/inside.md', body: 'x', expected_version: null } },
    { action: 'list', input: { path: 'loop.md' } },
  ];
  const statuses: number[] = [];
  for (let i = 0; i < 30; i += 1) {
    const { action, input } = mistakes[i % mistakes.length]!;
    const res = await task(API_KEY, action, input);
    statuses.push(res.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  }
  const read = await task(OTHER_KEY, 'read', { path: 'Projects/Alpha.md' });
  expect({ other: read.status, type: read.body.type }).toEqual({ other: 200, type: undefined });
  expect(statuses.filter((s) => s < 400 || s >= 500)).toEqual([]);
  expect(read.body.output.path).toBe('Projects/Alpha.md');
  const health = await request(orchestrator.url).get('/health');
  expect(health.body.checks.agent_pools.detail.obsidian.breaker).toBe('closed');
});

test('a name of 253 to 255 bytes is a name like any other: written, read back, nothing left beside it', async () => {
  for (const bytes of [253, 254, 255]) {
    const write = await task(OTHER_KEY, 'write', {
      path: name(bytes),
      body: `${bytes}\n`,
      expected_version: null,
    });
    expect({ bytes, status: write.status }).toEqual({ bytes, status: 200 });
    const append = await task(API_KEY, 'append', { path: name(bytes), text: 'more' });
    expect(append.status).toBe(200);
    expect((await task(API_KEY, 'read', { path: name(bytes) })).body.output.body).toBe(`${bytes}\nmore\n`);
  }
  expect(vault.files().filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
});
