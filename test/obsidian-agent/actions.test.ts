import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import request from 'supertest';
import { NOTES, buildVault, startObsidianAgent, type Vault } from './vault-fixture.ts';

let vault: Vault;
let agent: Awaited<ReturnType<typeof startObsidianAgent>>;

const MAX_NOTE_BYTES = 4096;

beforeAll(async () => {
  vault = buildVault();
  execFileSync('mkfifo', [path.join(vault.vault, 'pipe.md')]);
  writeFileSync(path.join(vault.vault, 'Big.md'), `# Big\n${'x'.repeat(MAX_NOTE_BYTES)}\n`);
  writeFileSync(path.join(vault.vault, 'Broken.md'), '---\ntags: [unclosed\n---\nStill readable.\n');
  // Scans are not reused, so changes made on disk by a test are seen at once.
  agent = await startObsidianAgent(vault.vault, {
    OBSIDIAN_MAX_NOTE_BYTES: String(MAX_NOTE_BYTES),
    OBSIDIAN_SCAN_INTERVAL_MS: '0',
  });
});
afterAll(async () => {
  await agent.stop();
  expect(vault.outsideState()).toBe(vault.initialOutside);
  vault.cleanup();
});

const call = (action: string, input: unknown) =>
  request(agent.url).post(`/v1/actions/${action}`).send({ input });
const resolve = async (action: string, input: unknown) => {
  const res = await request(agent.url).post(`/v1/actions/${action}/resolve`).send({ input });
  expect(res.status).toBe(200);
  return res.body.version as string;
};
const ok = async (action: string, input: unknown) => {
  const res = await call(action, input);
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.output;
};
const paths = (list: Array<{ path: string }>) => list.map((r) => r.path);

describe('catalogue', () => {
  test('offers the six actions; reads are cacheable with resolve, writes are not cacheable', async () => {
    const res = await request(agent.url).get('/v1/actions');
    expect(res.body.pool).toBe('obsidian');
    const byName = Object.fromEntries(
      (res.body.actions as Array<{ name: string; cacheable: boolean; resolve?: boolean }>).map((a) => [
        a.name,
        a,
      ]),
    );
    expect(Object.keys(byName).sort()).toEqual(['append', 'backlinks', 'list', 'read', 'search', 'write']);
    for (const name of ['read', 'search', 'backlinks', 'list']) {
      expect(byName[name]).toMatchObject({ cacheable: true, resolve: true });
    }
    for (const name of ['write', 'append']) expect(byName[name]).toMatchObject({ cacheable: false });
  });
});

describe('read', () => {
  test('frontmatter, body, links with aliases and headings, frontmatter and inline tags', async () => {
    const note = await ok('read', { path: 'Welcome.md' });
    expect(note.path).toBe('Welcome.md');
    expect(note.title).toBe('Welcome to the vault');
    expect(note.frontmatter).toEqual({
      title: 'Welcome to the vault',
      tags: ['intro', 'meta'],
      created: '2026-01-05',
    });
    expect(note.body.startsWith('# Welcome\n')).toBe(true);
    expect(note.links).toEqual([
      { target: 'Projects/Alpha', alias: 'the alpha project', embed: false, kind: 'wikilink' },
      { target: 'Beta', heading: 'Goals', embed: false, kind: 'wikilink' },
    ]);
    expect(note.tags).toEqual(['intro', 'meta', 'inline-tag']);
    expect(note.headings).toEqual(['Welcome']);
    expect(note.version).toMatch(/^[0-9a-f]{32}$/);
    expect(note.size).toBe(Buffer.byteLength(NOTES['Welcome.md']!));
  });

  test('links and tags inside code are not links or tags; Markdown links and embeds are', async () => {
    const beta = await ok('read', { path: 'Projects/Beta.md' });
    expect(beta.links.map((l: { target: string }) => l.target)).toEqual(['Alpha', 'Alpha.md']);
    expect(beta.links[0]).toMatchObject({ heading: 'Plan', alias: 'the plan' });
    expect(beta.tags).toEqual(['project']);
    const alpha = await ok('read', { path: 'Projects/Alpha.md' });
    expect(alpha.links).toContainEqual({ target: 'diagram.png', embed: true, kind: 'wikilink' });
    expect(alpha.tags).toEqual(['project', 'project/alpha', 'todo']);
    expect(alpha.aliases).toEqual(['First Project']);
  });

  test('broken frontmatter is reported, and the note is still read', async () => {
    const note = await ok('read', { path: 'Broken.md' });
    expect(note.frontmatter).toBeNull();
    expect(typeof note.frontmatter_error).toBe('string');
    expect(note.body).toBe('Still readable.\n');
  });

  test('a link inside the vault is followed to the note it names', async () => {
    const note = await ok('read', { path: 'alpha-link.md' });
    expect(note.path).toBe('Projects/Alpha.md');
  });

  test('a missing note is 404, a note over the size limit 413, a FIFO named .md 404 without hanging', async () => {
    expect((await call('read', { path: 'Nope.md' })).status).toBe(404);
    const big = await call('read', { path: 'Big.md' });
    expect(big.status).toBe(413);
    expect(big.body.type).toBe('urn:phoenix-orch:problem:note-too-large');
    expect((await call('read', { path: 'pipe.md' })).status).toBe(404);
  });
});

describe('search', () => {
  test('ranks the note about the query first and returns a snippet', async () => {
    const out = await ok('search', { query: 'quantum gardening' });
    expect(paths(out.results)).toEqual(['Projects/Alpha.md']);
    const any = await ok('search', { query: 'quantum' });
    expect(paths(any.results)).toEqual(['Projects/Alpha.md', 'Projects/Beta.md']);
    expect(any.results[0].score).toBeGreaterThan(any.results[1].score);
    expect(any.results[0].snippet.toLowerCase()).toContain('quantum');
    expect(any.total).toBe(2);
  });

  test('finds a note by its alias and by a word of its title', async () => {
    expect(paths((await ok('search', { query: 'first project' })).results)[0]).toBe('Projects/Alpha.md');
    expect(paths((await ok('search', { query: 'compost' })).results)).toEqual(['Projects/Archive/Old.md']);
  });

  test('by tag: frontmatter and inline tags, a parent tag matches its nested tags, case-insensitive', async () => {
    expect(paths((await ok('search', { tags: ['project'] })).results)).toEqual([
      'Projects/Alpha.md',
      'Projects/Beta.md',
    ]);
    expect(paths((await ok('search', { tags: ['#Project/Alpha'] })).results)).toEqual(['Projects/Alpha.md']);
    expect(paths((await ok('search', { tags: ['meeting'] })).results)).toEqual(['Daily/2026-11-27.md']);
    expect(paths((await ok('search', { tags: ['inline-tag', 'intro'] })).results)).toEqual(['Welcome.md']);
    expect((await ok('search', { tags: ['notatag'] })).total).toBe(0);
    expect(paths((await ok('search', { query: 'quantum', tags: ['project/alpha'] })).results)).toEqual([
      'Projects/Alpha.md',
    ]);
  });

  test('pages: limit and offset over the ranked list, with the total', async () => {
    const first = await ok('search', { tags: ['project'], limit: 1 });
    const second = await ok('search', { tags: ['project'], limit: 1, offset: 1 });
    const past = await ok('search', { tags: ['project'], limit: 1, offset: 5 });
    expect([first.total, second.total, past.total]).toEqual([2, 2, 2]);
    expect(paths(first.results)).toEqual(['Projects/Alpha.md']);
    expect(paths(second.results)).toEqual(['Projects/Beta.md']);
    expect(past.results).toEqual([]);
  });

  test('hidden files, non-Markdown files and links out of the vault are not indexed', async () => {
    expect((await ok('search', { query: 'theme dark' })).total).toBe(0);
    expect((await ok('search', { query: 'canary' })).total).toBe(0);
    expect((await ok('search', { query: 'walrus' })).total).toBe(0);
  });

  test('query text is words, never a pattern', async () => {
    expect((await ok('search', { query: '.* (a+)+$ [[' })).total).toBe(0);
  });
});

describe('backlinks', () => {
  test('notes linking by name, by path, with heading or alias, and by Markdown link; most links first', async () => {
    const out = await ok('backlinks', { path: 'Projects/Alpha.md' });
    expect(out.backlinks).toEqual([
      { path: 'People/Bob.md', title: 'Bob', count: 2 },
      { path: 'Projects/Beta.md', title: 'Beta', count: 2 },
      { path: 'Welcome.md', title: 'Welcome to the vault', count: 1 },
    ]);
    expect(paths((await ok('backlinks', { path: 'Projects/Beta.md' })).backlinks)).toEqual([
      'Projects/Alpha.md',
      'Welcome.md',
    ]);
    expect(paths((await ok('backlinks', { path: 'People/Bob.md' })).backlinks)).toEqual([
      'Daily/2026-11-27.md',
    ]);
    const page = await ok('backlinks', { path: 'Projects/Alpha.md', limit: 1, offset: 2 });
    expect(page.total).toBe(3);
    expect(paths(page.backlinks)).toEqual(['Welcome.md']);
  });

  test('a note nobody links to has none; a missing note is 404', async () => {
    expect((await ok('backlinks', { path: 'Projects/Archive/Old.md' })).total).toBe(0);
    expect((await call('backlinks', { path: 'Nope.md' })).status).toBe(404);
  });
});

describe('list', () => {
  test('the root: folders first, then notes; no hidden, non-Markdown or linked entries', async () => {
    const out = await ok('list', {});
    expect(out.entries.map((e: { type: string; path: string }) => `${e.type}:${e.path}`)).toEqual([
      'folder:Daily',
      'folder:People',
      'folder:Projects',
      'folder:attachments',
      'note:Big.md',
      'note:Broken.md',
      'note:Welcome.md',
    ]);
  });

  test('a nested folder, paged; a missing folder is 404', async () => {
    const out = await ok('list', { path: 'Projects', limit: 2, offset: 1 });
    expect(out.total).toBe(3);
    expect(paths(out.entries)).toEqual(['Projects/Alpha.md', 'Projects/Beta.md']);
    expect(out.entries[0].size).toBe(Buffer.byteLength(NOTES['Projects/Alpha.md']!));
    expect((await call('list', { path: 'Nowhere' })).status).toBe(404);
  });
});

describe('write and optimistic concurrency', () => {
  test('create with expected_version null, then null again is 409 with the current version', async () => {
    const created = await ok('write', {
      path: 'Inbox/Idea.md',
      body: 'A new idea about #gardening.\n',
      frontmatter: { tags: ['idea'], rating: 3 },
      expected_version: null,
    });
    expect(created).toMatchObject({ path: 'Inbox/Idea.md', created: true });
    expect(vault.read('Inbox/Idea.md')).toBe(
      '---\ntags:\n  - idea\nrating: 3\n---\nA new idea about #gardening.\n',
    );
    const read = await ok('read', { path: 'Inbox/Idea.md' });
    expect(read.version).toBe(created.version);
    expect(read.frontmatter).toEqual({ tags: ['idea'], rating: 3 });
    expect(read.tags).toEqual(['idea', 'gardening']);

    const again = await call('write', { path: 'Inbox/Idea.md', body: 'clobber', expected_version: null });
    expect(again.status).toBe(409);
    expect(again.body.current_version).toBe(created.version);
    expect(vault.read('Inbox/Idea.md')).toContain('A new idea');
  });

  test('read -> write with its version succeeds; a second write with the old version is 409 and changes nothing', async () => {
    const { version } = await ok('read', { path: 'People/Bob.md' });
    const first = await ok('write', {
      path: 'People/Bob.md',
      body: 'Bob, first edit.\n',
      expected_version: version,
    });
    expect(first.created).toBe(false);
    const stale = await call('write', {
      path: 'People/Bob.md',
      body: 'Bob, lost edit.\n',
      expected_version: version,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.type).toBe('urn:phoenix-orch:problem:conflict');
    expect(stale.body.current_version).toBe(first.version);
    expect(vault.read('People/Bob.md')).toBe('Bob, first edit.\n');
  });

  test('concurrent writes with the same version: exactly one wins and the file holds its body', async () => {
    await ok('write', { path: 'Race.md', body: 'start\n', expected_version: null });
    const { version } = await ok('read', { path: 'Race.md' });
    const bodies = Array.from({ length: 8 }, (_, i) => `writer ${i}\n${'y'.repeat(200 * i)}\n`);
    const results = await Promise.all(
      bodies.map((body) => call('write', { path: 'Race.md', body, expected_version: version })),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    const winner = bodies[results.indexOf(winners[0]!)]!;
    expect(vault.read('Race.md')).toBe(winner);

    const creates = await Promise.all(
      [1, 2, 3].map((i) =>
        call('write', { path: 'Fresh.md', body: `create ${i}\n`, expected_version: null }),
      ),
    );
    expect(creates.map((r) => r.status).sort()).toEqual([200, 409, 409]);
  });

  test('writes are atomic: a reader sees the old or the new note, never a part; no temp files remain', async () => {
    const a = `# A\n${'a'.repeat(3000)}\n`;
    const b = `# B\n${'b'.repeat(3500)}\n`;
    let { version } = await ok('write', { path: 'Atomic.md', body: a, expected_version: null });
    const seen = new Set<string>();
    let writing = true;
    const reader = (async () => {
      while (writing) {
        seen.add(readFileSync(path.join(vault.vault, 'Atomic.md'), 'utf8'));
        await tick();
      }
    })();
    for (let i = 0; i < 30; i += 1) {
      ({ version } = await ok('write', {
        path: 'Atomic.md',
        body: i % 2 ? a : b,
        expected_version: version,
      }));
    }
    writing = false;
    await reader;
    expect([...seen].every((s) => s === a || s === b)).toBe(true);
    expect(vault.files().filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a write that fails leaves the note as it was', async () => {
    const before = vault.read('Projects/Archive/Old.md');
    const { version } = await ok('read', { path: 'Projects/Archive/Old.md' });
    const multiByte = 'é'.repeat(MAX_NOTE_BYTES / 2 + 10); // under the character limit, over the byte limit
    const res = await call('write', {
      path: 'Projects/Archive/Old.md',
      body: multiByte,
      expected_version: version,
    });
    expect(res.status).toBe(413);
    expect(vault.read('Projects/Archive/Old.md')).toBe(before);
  });

  test('a deleted note: writing with its old version is 409 with current_version null', async () => {
    const { version } = await ok('write', { path: 'Gone.md', body: 'soon gone\n', expected_version: null });
    unlinkSync(path.join(vault.vault, 'Gone.md'));
    const res = await call('write', { path: 'Gone.md', body: 'back?\n', expected_version: version });
    expect(res.status).toBe(409);
    expect(res.body.current_version).toBeNull();
    const elsewhere = await call('write', {
      path: 'No/Such/Folder.md',
      body: 'x',
      expected_version: version,
    });
    expect(elsewhere.status).toBe(409);
    expect(existsSync(path.join(vault.vault, 'No'))).toBe(false);
  });

  test('create_folders false refuses a missing folder; a write through an in-vault link keeps the link', async () => {
    const res = await call('write', {
      path: 'New/Folder/Note.md',
      body: 'x',
      expected_version: null,
      create_folders: false,
    });
    expect(res.status).toBe(404);
    const { version } = await ok('read', { path: 'alpha-link.md' });
    const out = await ok('write', {
      path: 'alpha-link.md',
      body: '# Alpha rewritten\n',
      expected_version: version,
    });
    expect(out.path).toBe('Projects/Alpha.md');
    expect(vault.read('Projects/Alpha.md')).toBe('# Alpha rewritten\n');
    expect(readlinkSync(path.join(vault.vault, 'alpha-link.md'))).toBe(
      path.join(vault.vault, 'Projects/Alpha.md'),
    );
    // Put Alpha back for the other tests.
    await ok('write', {
      path: 'Projects/Alpha.md',
      body: NOTES['Projects/Alpha.md']!,
      expected_version: out.version,
    });
  });
});

describe('append', () => {
  test('appends on a new line of a daily note; creates one only when asked', async () => {
    const out = await ok('append', { path: 'Daily/2026-11-27.md', text: '- lunch with Ann' });
    expect(vault.read('Daily/2026-11-27.md')).toBe(`${NOTES['Daily/2026-11-27.md']}- lunch with Ann\n`);
    expect(out.created).toBe(false);
    expect((await call('append', { path: 'Daily/2026-11-30.md', text: '- x' })).status).toBe(404);
    const created = await ok('append', {
      path: 'Journal/2026/2026-11-30.md',
      text: '- x',
      create_if_missing: true,
    });
    expect(created.created).toBe(true);
    expect(vault.read('Journal/2026/2026-11-30.md')).toBe('- x\n');
  });

  test('concurrent appends all land; an append past the size limit is 413 and changes nothing', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        ok('append', { path: 'Log.md', text: `entry ${i}`, create_if_missing: true }),
      ),
    );
    const lines = vault.read('Log.md').trim().split('\n').sort();
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `entry ${i}`).sort());
    const before = vault.read('Log.md');
    const res = await call('append', { path: 'Log.md', text: 'z'.repeat(MAX_NOTE_BYTES - 10) });
    expect(res.status).toBe(413);
    expect(vault.read('Log.md')).toBe(before);
  });
});

describe('resolve: the version in the cache key moves with the vault', () => {
  test('read: a write through the agent and an edit on disk both change it', async () => {
    const v1 = await resolve('read', { path: 'Projects/Archive/Old.md' });
    expect(await resolve('read', { path: 'Projects/Archive/Old.md' })).toBe(v1);
    const { version } = await ok('read', { path: 'Projects/Archive/Old.md' });
    await ok('write', {
      path: 'Projects/Archive/Old.md',
      body: '# Old\n\nRevived.\n',
      expected_version: version,
    });
    const v2 = await resolve('read', { path: 'Projects/Archive/Old.md' });
    expect(v2).not.toBe(v1);
    writeFileSync(path.join(vault.vault, 'Projects/Archive/Old.md'), '# Old\n\nEdited in Obsidian.\n');
    expect(await resolve('read', { path: 'Projects/Archive/Old.md' })).not.toBe(v2);
  });

  test('search and backlinks: a write changes the vault version and the answer', async () => {
    const s1 = await resolve('search', { query: 'zeppelin' });
    const b1 = await resolve('backlinks', { path: 'Welcome.md' });
    expect((await ok('search', { query: 'zeppelin' })).total).toBe(0);
    await ok('write', {
      path: 'Zeppelin.md',
      body: 'A zeppelin, see [[Welcome]].\n',
      expected_version: null,
    });
    expect(await resolve('search', { query: 'zeppelin' })).not.toBe(s1);
    expect(await resolve('backlinks', { path: 'Welcome.md' })).not.toBe(b1);
    expect(paths((await ok('search', { query: 'zeppelin' })).results)).toEqual(['Zeppelin.md']);
    expect(paths((await ok('backlinks', { path: 'Welcome.md' })).backlinks)).toContain('Zeppelin.md');
  });

  test('search sees a note added and one removed on disk by someone else', async () => {
    const s1 = await resolve('search', { query: 'blimp' });
    writeFileSync(path.join(vault.vault, 'Blimp.md'), 'A blimp.\n');
    expect(await resolve('search', { query: 'blimp' })).not.toBe(s1);
    expect(paths((await ok('search', { query: 'blimp' })).results)).toEqual(['Blimp.md']);
    rmSync(path.join(vault.vault, 'Blimp.md'));
    expect((await ok('search', { query: 'blimp' })).total).toBe(0);
  });

  test('list: a new note in the folder changes it, a note elsewhere does not', async () => {
    const l1 = await resolve('list', { path: 'People' });
    await ok('write', { path: 'Elsewhere/Note.md', body: 'x\n', expected_version: null });
    expect(await resolve('list', { path: 'People' })).toBe(l1);
    await ok('write', { path: 'People/Carol.md', body: 'Carol\n', expected_version: null });
    expect(await resolve('list', { path: 'People' })).not.toBe(l1);
  });
});

describe('health and metrics', () => {
  test('health reports the vault readable, its note count and the index age', async () => {
    const res = await request(agent.url).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.checks.vault).toMatchObject({ ok: true, required: true });
    const detail = res.body.checks.vault.detail;
    expect(detail.vault_readable).toBe(true);
    expect(detail.notes).toBeGreaterThanOrEqual(Object.keys(NOTES).length);
    expect(detail.index_age_seconds).toBeGreaterThanOrEqual(0);
    expect(detail.index_age_seconds).toBeLessThan(60);
  });

  test('notes gauge, index rebuilds and write conflicts are exported with the pool label', async () => {
    const text = (await request(agent.url).get('/metrics')).text;
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    expect(value(/^agent_obsidian_notes\{pool="obsidian"\} (\d+)$/m)).toBeGreaterThan(5);
    expect(value(/^agent_obsidian_index_rebuilds_total\{kind="full",pool="obsidian"\} (\d+)$/m)).toBe(1);
    expect(
      value(/^agent_obsidian_index_rebuilds_total\{kind="incremental",pool="obsidian"\} (\d+)$/m),
    ).toBeGreaterThan(0);
    expect(value(/^agent_obsidian_write_conflicts_total\{pool="obsidian"\} (\d+)$/m)).toBeGreaterThanOrEqual(
      10,
    );
  });
});
