import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultScanner } from '../../services/obsidian-agent/vault-scan.ts';

let root: string;
let outside: string;
beforeAll(() => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'phoenix-scan-'));
  root = path.join(base, 'vault');
  outside = path.join(base, 'outside');
  mkdirSync(path.join(root, 'A/B'), { recursive: true });
  mkdirSync(path.join(root, '.trash'));
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'far.md'), 'far');
  writeFileSync(path.join(root, 'one.md'), '1');
  writeFileSync(path.join(root, 'A/B/two.md'), '2');
  writeFileSync(path.join(root, '.trash/old.md'), 'old');
  writeFileSync(path.join(root, 'A/pic.png'), 'png');
  symlinkSync(outside, path.join(root, 'out'));
  symlinkSync(root, path.join(root, 'A/loop'));
});
afterAll(() => rmSync(path.dirname(root), { recursive: true, force: true }));

test('lists notes only: no hidden folders, attachments, or links (so no escape and no loop)', async () => {
  const scanner = new VaultScanner({ root, maxNotes: 100, intervalMs: 0 });
  const snapshot = await scanner.snapshot();
  expect([...snapshot.notes.keys()].sort()).toEqual(['A/B/two.md', 'one.md']);
  expect(snapshot.truncated).toBe(false);
});

test('a scan is reused within the interval, redone after it or after invalidate(); the signature follows the files', async () => {
  const scanner = new VaultScanner({ root, maxNotes: 100, intervalMs: 600000 });
  const first = await scanner.snapshot();
  const [a, b] = await Promise.all([scanner.snapshot(), scanner.snapshot()]);
  expect(a).toBe(first);
  expect(b).toBe(first);
  expect(scanner.scans).toBe(1);

  writeFileSync(path.join(root, 'one.md'), '1 changed');
  expect((await scanner.snapshot()).signature).toBe(first.signature); // within the interval: reused
  scanner.invalidate();
  const second = await scanner.snapshot();
  expect(second.signature).not.toBe(first.signature);

  expect(scanner.scans).toBe(2);

  const short = new VaultScanner({ root, maxNotes: 100, intervalMs: 50 });
  const before = await short.snapshot();
  writeFileSync(path.join(root, 'three.md'), '3');
  await sleep(80);
  const after = await short.snapshot();
  expect(after.notes.has('three.md')).toBe(true);
  expect(after.signature).not.toBe(before.signature);
});

test('stops at maxNotes and says the vault is truncated', async () => {
  const scanner = new VaultScanner({ root, maxNotes: 1, intervalMs: 0 });
  const snapshot = await scanner.snapshot();
  expect(snapshot.notes.size).toBe(1);
  expect(snapshot.truncated).toBe(true);
});
