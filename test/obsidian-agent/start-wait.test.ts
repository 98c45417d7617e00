import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { buildVault, startObsidianAgent, type Vault } from './vault-fixture.ts';

const NOTES = 2000;
let vault: Vault;
let agent: Awaited<ReturnType<typeof startObsidianAgent>>;
let startMs: number;

beforeAll(async () => {
  vault = buildVault();
  mkdirSync(path.join(vault.vault, 'Many'));
  for (let i = 0; i < NOTES; i += 1) {
    writeFileSync(
      path.join(vault.vault, 'Many', `M${i}.md`),
      `# M${i}\n\nabundant words ${i} and [[M${(i + 1) % NOTES}]]\n`,
    );
  }
  const started = Date.now();
  // A start that does not wait for the index at all: as a start past OBSIDIAN_START_WAIT_MS is.
  agent = await startObsidianAgent(vault.vault, { OBSIDIAN_START_WAIT_MS: '0' });
  startMs = Date.now() - started;
});
afterAll(async () => {
  await agent.stop();
  vault.cleanup();
});

const search = () =>
  request(agent.url)
    .post('/v1/actions/search')
    .send({ input: { query: 'abundant', limit: 1 } });

test('past its start wait the agent serves from the index built so far, says so, and completes it in the background', async () => {
  expect(startMs).toBeLessThan(2000);
  const health = await request(agent.url).get('/health');
  expect(health.status).toBe(200);
  expect(health.body.checks.vault.detail.index_complete).toBe(false);

  const partial = await search();
  expect(partial.status).toBe(200);
  expect(partial.body.output.index_complete).toBe(false);
  expect(partial.body.output.total).toBeLessThan(NOTES);
  expect(partial.body.output.vault_version).toMatch(/^partial-/);
  const backlinks = await request(agent.url)
    .post('/v1/actions/backlinks')
    .send({ input: { path: 'Welcome.md' } });
  expect(backlinks.status).toBe(200);

  let complete = partial;
  for (let i = 0; i < 300 && complete.body.output.index_complete === false; i += 1) {
    await sleep(100);
    complete = await search();
  }
  expect(complete.body.output.index_complete).toBeUndefined();
  expect(complete.body.output.total).toBe(NOTES);
  expect(complete.body.output.vault_version).not.toBe(partial.body.output.vault_version);
  expect((await request(agent.url).get('/health')).body.checks.vault.detail.index_complete).toBe(true);
});
