import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parseMetrics, sample } from '../support/metrics.ts';
import { spawnService, type ServiceProcess } from '../support/process.ts';
import { buildVault, type Vault } from './vault-fixture.ts';

/**
 * The costliest notes for a full-text index: every word unique (hashes, identifiers), so each one
 * is a new term. Unbounded, 12 MiB of them grew the heap by about 70 times their size.
 */
const NOTES = 48;
const NOTE_BYTES = 256 * 1024;
const HEAP_MIB = 192;
const BUDGET = 48 * 1048576;

function uniqueWords(bytes: number): string {
  // 6 random bytes are 8 base64url characters: a word that (almost surely) no other note has.
  const words: string[] = [];
  const raw = randomBytes(Math.ceil(bytes / 9) * 6).toString('base64url');
  for (let i = 0; i + 8 <= raw.length && words.length * 9 < bytes; i += 8) words.push(raw.slice(i, i + 8));
  return words.join(' ');
}

let vault: Vault;
let agent: ServiceProcess;

beforeAll(async () => {
  vault = buildVault();
  mkdirSync(path.join(vault.vault, 'Bulk'));
  for (let i = 0; i < NOTES; i += 1) {
    const name = `N${String(i).padStart(2, '0')}`;
    const head = `# Heading ${name}\n\nmarker${name} `;
    writeFileSync(path.join(vault.vault, 'Bulk', `${name}.md`), head + uniqueWords(NOTE_BYTES - head.length));
  }
  // The heap bound makes a regression fail this test (the agent dies), not the machine.
  agent = await spawnService(
    'services/obsidian-agent/main.ts',
    {
      OBSIDIAN_VAULT_PATH: vault.vault,
      OBSIDIAN_INDEX_MAX_BYTES: String(BUDGET),
      SHUTDOWN_DRAIN_DELAY_MS: '0',
    },
    'agent listening',
    { nodeArgs: [`--max-old-space-size=${HEAP_MIB}`], readyTimeoutMs: 40000 },
  );
}, 60000);
afterAll(async () => {
  agent?.kill('SIGKILL');
  await agent?.exited;
  vault?.cleanup();
});

const search = (query: string) =>
  request(agent.url)
    .post('/v1/actions/search')
    .send({ input: { query, limit: 100 } });

test(`${(NOTES * NOTE_BYTES) / 1048576} MiB of unique words: the index stays within its byte budget, in a ${HEAP_MIB} MiB heap`, async () => {
  const parsed = parseMetrics((await request(agent.url).get('/metrics')).text);
  const metricValue = (name: string, labels: Record<string, string>) => sample(parsed, name, labels);
  const indexBytes = metricValue('agent_obsidian_index_bytes', { pool: 'obsidian' });
  expect(metricValue('agent_obsidian_index_max_bytes', { pool: 'obsidian' })).toBe(BUDGET);
  expect(indexBytes).toBeGreaterThan(BUDGET / 2);
  expect(indexBytes).toBeLessThanOrEqual(BUDGET);
  expect(metricValue('agent_nodejs_heap_size_used_bytes', { pool: 'obsidian' })).toBeLessThan(
    HEAP_MIB * 1048576,
  );
  // Notes past the budget are still in the index by title and headings, and counted.
  const withoutBody = metricValue('agent_obsidian_index_notes_without_body', { pool: 'obsidian' });
  expect(withoutBody).toBeGreaterThan(0);
  expect(withoutBody).toBeLessThan(NOTES);
  const health = await request(agent.url).get('/health');
  expect(health.status).toBe(200);
  expect(health.body.checks.vault.detail).toMatchObject({ index_bytes: indexBytes, index_full: true });

  // The first note's body is searchable; the last one is found by its heading only.
  const paths = async (query: string) =>
    (await search(query)).body.output.results.map((r: { path: string }) => r.path) as string[];
  expect((await paths('markerN00'))[0]).toBe('Bulk/N00.md');
  const last = `N${NOTES - 1}`;
  expect(await paths(`marker${last}`)).not.toContain(`Bulk/${last}.md`);
  expect((await paths(`Heading ${last}`))[0]).toBe(`Bulk/${last}.md`);
  // And every note is still readable in full.
  const read = await request(agent.url)
    .post('/v1/actions/read')
    .send({ input: { path: `Bulk/${last}.md` } });
  expect(read.status).toBe(200);
  expect(read.body.output.body).toContain(`marker${last}`);
});
