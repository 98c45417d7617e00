import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COST } from '../../services/obsidian-agent/index-budget.ts';
import { NoteIndex } from '../../services/obsidian-agent/search-index.ts';
import { VaultScanner } from '../../services/obsidian-agent/vault-scan.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'phoenix-budget-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const words = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');

async function indexOf(opts: { maxIndexBytes: number; indexNoteBytes?: number }) {
  const scanner = new VaultScanner({ root, maxNotes: 1000, intervalMs: 0 });
  const index = new NoteIndex({
    root,
    maxNoteBytes: 524288,
    indexNoteBytes: opts.indexNoteBytes ?? 65536,
    maxIndexBytes: opts.maxIndexBytes,
    onSync: () => undefined,
  });
  const sync = async () => {
    scanner.invalidate();
    await index.sync(await scanner.snapshot());
  };
  const found = async (query: string) =>
    (await index.search({ query, match: 'all', limit: 20, offset: 0 })).results.map((r) => r.path);
  return { index, sync, found };
}

test('notes past the budget keep their title and headings; room freed by a removed note is used again', async () => {
  // Each note: 2000 words no other note has (and none a letter or two from another's).
  const notes = ['a', 'b', 'c', 'd'];
  for (const n of notes)
    writeFileSync(path.join(root, `${n}.md`), `# Heading ${n}\n\n${words(n.repeat(4), 2000)}\n`);
  const budget = 2000 * (COST.term + COST.posting) * 2 + 64 * 1024;
  const { index, sync, found } = await indexOf({ maxIndexBytes: budget });
  await sync();
  expect(index.bytes).toBeLessThanOrEqual(budget);
  expect(index.notesWithoutBody).toBe(2);
  expect(await found('aaaa1999')).toEqual(['a.md']);
  expect(await found('bbbb7')).toEqual(['b.md']);
  expect(await found('cccc7')).toEqual([]);
  expect(await found('Heading d')).toEqual(['d.md']);

  unlinkSync(path.join(root, 'a.md'));
  writeFileSync(path.join(root, 'c.md'), `# Heading c\n\n${words('xxxx', 2000)}\n`);
  await sync();
  expect(await found('xxxx1999')).toEqual(['c.md']);
  expect(index.notesWithoutBody).toBe(1);
  expect(index.bytes).toBeLessThanOrEqual(budget);

  // Everything removed: the estimate returns to nothing, so nothing was counted twice.
  for (const n of ['b', 'c', 'd']) unlinkSync(path.join(root, `${n}.md`));
  await sync();
  expect(index.bytes).toBe(0);
});

test('only a prefix of each body is full-text indexed', async () => {
  writeFileSync(path.join(root, 'long.md'), `early ${'filler '.repeat(2000)} late\n`);
  const { sync, found } = await indexOf({ maxIndexBytes: 64 * 1048576, indexNoteBytes: 4096 });
  await sync();
  expect(await found('early')).toEqual(['long.md']);
  expect(await found('late')).toEqual([]);
});
