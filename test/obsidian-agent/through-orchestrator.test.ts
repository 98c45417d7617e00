import { execFile } from 'node:child_process';
import { pushedVersionsCurrent } from '../support/orchestrator.ts';
import { startThroughOrchestrator, type ThroughOrchestrator } from '../support/through-orchestrator.ts';
import { buildVault, type Vault } from './vault-fixture.ts';

let vault: Vault;
let o: ThroughOrchestrator;

beforeAll(async () => {
  vault = buildVault();
  o = await startThroughOrchestrator('obsidian', { OBSIDIAN_VAULT_PATH: vault.vault });
  expect(await pushedVersionsCurrent(o.orchestrator.url, 'obsidian')).toBe(true);
});
afterAll(async () => {
  await o?.stop();
  vault?.cleanup();
});

test('read is cached (MISS, HIT) and a write through the orchestrator makes the very next read a MISS with the new note', async () => {
  const read = { action: 'read', input: { path: 'Projects/Alpha.md' } };
  const first = await o.task(read, 'obsidian-read-1');
  expect(first.status).toBe(200);
  expect(first.headers['x-cache']).toBe('MISS');
  expect(first.body.output.path).toBe('Projects/Alpha.md');
  expect(first.body.output.tags).toEqual(['project', 'project/alpha', 'todo']);
  expect(first.body.output.body).toContain('quantum gardening');

  const second = await o.task(read, 'obsidian-read-2');
  expect(second.status).toBe(200);
  expect(second.headers['x-cache']).toBe('HIT');
  expect(second.body.output).toEqual(first.body.output);

  const write = await o.task(
    {
      action: 'write',
      input: {
        path: 'Projects/Alpha.md',
        body: '# Alpha v2\n\nNow about hydroponics.\n',
        expected_version: first.body.output.version,
      },
    },
    'obsidian-write-1',
  );
  expect(write.status).toBe(200);
  expect(write.headers['x-cache']).toBe('BYPASS');

  const third = await o.task(read, 'obsidian-read-3');
  expect(third.status).toBe(200);
  expect(third.headers['x-cache']).toBe('MISS');
  expect(third.body.output.body).toBe('# Alpha v2\n\nNow about hydroponics.\n');
  expect(third.body.output.version).toBe(write.body.output.version);

  // The stale version is now a conflict, relayed as the agent's 409.
  const stale = await o.task(
    {
      action: 'write',
      input: { path: 'Projects/Alpha.md', body: 'lost', expected_version: first.body.output.version },
    },
    'obsidian-write-2',
  );
  expect(stale.status).toBe(409);
  expect(vault.read('Projects/Alpha.md')).toBe('# Alpha v2\n\nNow about hydroponics.\n');

  // Search through the cache sees the write too.
  const search = await o.task({ action: 'search', input: { query: 'hydroponics' } }, 'obsidian-search-1');
  expect(search.status).toBe(200);
  expect(search.body.output.results.map((r: { path: string }) => r.path)).toEqual(['Projects/Alpha.md']);

  // A hostile path is the agent's 4xx, passed through, not a 5xx.
  const hostile = await o.task({ action: 'read', input: { path: 'escape.md' } }, 'obsidian-hostile-1');
  expect(hostile.status).toBe(400);

  // In the logs of both services.
  for (const id of ['obsidian-read-1', 'obsidian-write-1', 'obsidian-read-3', 'obsidian-search-1']) {
    expect([id, await o.loggedByBoth(id)]).toEqual([id, true]);
  }
  // The HIT did not ask the agent anything: the note's version was pushed by the agent.
  const hitUrls = o.agent.logs.filter((l) => l.correlation_id === 'obsidian-read-2').map((l) => l.url);
  expect(hitUrls).toEqual([]);
  expect(vault.outsideState()).toBe(vault.initialOutside);
});

test('a vault path that is not a folder, or none, exits 78 with the variable named', async () => {
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['services/obsidian-agent/main.ts'],
        { env: { PATH: process.env.PATH, PORT: '0', ...env }, timeout: 10000 },
        (err, _stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr }),
      );
    });
  const [missing, unset] = await Promise.all([
    run({ OBSIDIAN_VAULT_PATH: `${vault.root}/missing` }),
    run({}),
  ]);
  expect(missing.code).toBe(78);
  expect(missing.stderr).toContain('OBSIDIAN_VAULT_PATH');
  expect(unset.code).toBe(78);
  expect(unset.stderr).toContain('OBSIDIAN_VAULT_PATH');
});
