import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { readDetector } from '../support/read-detector.ts';
import { hostileNotes } from './hostile-notes.ts';
import { CANARY, buildVault, startObsidianAgent, type Vault } from './vault-fixture.ts';

let vault: Vault;
let agent: Awaited<ReturnType<typeof startObsidianAgent>>;
let filesBefore: string[];
let outsideReads: ReturnType<typeof readDetector>;
/** The outside folder's files with their sizes and times, found without reading them. */
const outsideMeta = () =>
  readdirSync(vault.outside)
    .sort()
    .map((name) => {
      const s = statSync(path.join(vault.outside, name));
      return `${name}:${s.size}:${s.mtimeMs}`;
    });
let outsideBefore: string[];

const MAX_NOTE_BYTES = 4096;
/** Every hostile request is answered well within this, whatever it asks. */
const ANSWER_BOUND_MS = 2000;

beforeAll(async () => {
  vault = buildVault();
  symlinkSync('loop.md', path.join(vault.vault, 'loop.md'));
  symlinkSync('folder-loop', path.join(vault.vault, 'folder-loop'));
  mkdirSync(path.join(vault.vault, 'Folder.md'));
  agent = await startObsidianAgent(vault.vault, { OBSIDIAN_MAX_NOTE_BYTES: String(MAX_NOTE_BYTES) });
  filesBefore = vault.files();
  outsideReads = readDetector([vault.canary, path.join(vault.outside, 'canary.txt')]);
  outsideReads.check(path.join(vault.outside, 'canary.txt'));
  outsideReads.arm();
  outsideBefore = outsideMeta();
});
afterAll(async () => {
  await agent.stop();
  vault.cleanup();
});

type Case = [label: string, action: string, input: unknown, status: number, field: string | undefined];

const v = '0123456789abcdef0123456789abcdef';
const name = (bytes: number) => `${'n'.repeat(bytes - 3)}.md`;
/** Hostile notes at this agent's size limit: cheap for a linear parser, costly for the old one. */
const small = hostileNotes(MAX_NOTE_BYTES - 64);
const cases: Case[] = [
  // A caller's path the file system cannot take is the caller's 4xx, decided before any harm.
  ['a 256-byte name', 'write', { path: name(256), body: 'x', expected_version: null }, 400, 'input.path'],
  [
    'a 255-byte name is served',
    'write',
    { path: name(255), body: 'x', expected_version: null },
    200,
    undefined,
  ],
  [
    'append creates a 255-byte name',
    'append',
    { path: `A/${name(255)}`, text: 'x', create_if_missing: true },
    200,
    undefined,
  ],
  [
    'a path over 1024 bytes in short segments',
    'write',
    { path: `${`${'€'.repeat(80)}/`.repeat(5)}x.md`, body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  [
    '65 segments deep',
    'write',
    { path: `${'d/'.repeat(64)}x.md`, body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  ['a folder 65 segments deep', 'list', { path: 'd/'.repeat(64).slice(0, -1) + '/e' }, 400, 'input.path'],
  ['a symbolic link loop', 'read', { path: 'loop.md' }, 400, 'input.path'],
  [
    'a write through a link loop',
    'write',
    { path: 'loop.md', body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  ['a folder link loop', 'list', { path: 'folder-loop' }, 400, 'input.path'],
  [
    'a note inside a folder link loop',
    'append',
    { path: 'folder-loop/x.md', text: 'x', create_if_missing: true },
    400,
    'input.path',
  ],
  ['backlinks of a link loop', 'backlinks', { path: 'loop.md' }, 400, 'input.path'],
  [
    'a write through a note',
    'write',
    { path: 'Welcome.md/inside.md', body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  [
    'a write over a folder named like a note',
    'write',
    { path: 'Folder.md', body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  ['a read of a folder named like a note', 'read', { path: 'Folder.md' }, 404, undefined],
  // Notes built to make a backtracking parser work for long: written and parsed back at once.
  ...Object.entries(small)
    .filter(([label]) => !label.startsWith('frontmatter of the whole'))
    .map(([label, body], i): Case => [
      'a note of ' + label,
      'write',
      { path: `Hostile/${i}.md`, body, expected_version: null },
      200,
      undefined,
    ]),

  ['parent traversal', 'read', { path: '../../etc/passwd' }, 400, 'input.path'],
  ['traversal to the canary', 'read', { path: '../outside/canary.md' }, 400, 'input.path'],
  ['traversal after a folder', 'read', { path: 'Projects/../../outside/canary.md' }, 400, 'input.path'],
  [
    'encoded traversal is a (hidden) name, not decoded',
    'read',
    { path: '..%2F..%2Foutside%2Fcanary.md' },
    400,
    'input.path',
  ],
  ['encoded dots stay literal', 'read', { path: '%2e%2e/%2e%2e/outside/canary.md' }, 404, undefined],
  ['absolute path', 'read', { path: '/etc/passwd' }, 400, 'input.path'],
  ['absolute path of the canary', 'read', { path: '<canary>' }, 400, 'input.path'],
  ['drive letter', 'read', { path: 'C:/Windows/win.md' }, 400, 'input.path'],
  ['NUL byte', 'read', { path: 'Welcome.md\u0000.txt' }, 400, 'input.path'],
  ['backslashes', 'read', { path: '..\\outside\\canary.md' }, 400, 'input.path'],
  [
    'dot segment',
    'write',
    { path: 'Projects/./Alpha.md', body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  ['empty segment', 'read', { path: 'Projects//Alpha.md' }, 400, 'input.path'],
  ['symlinked note out of the vault', 'read', { path: 'escape.md' }, 400, 'input.path'],
  ['symlinked folder out of the vault', 'read', { path: 'linkdir/canary.md' }, 400, 'input.path'],
  [
    'write through a symlinked note',
    'write',
    { path: 'escape.md', body: 'pwned', expected_version: null },
    400,
    'input.path',
  ],
  [
    'write into a symlinked folder',
    'write',
    { path: 'linkdir/new.md', body: 'pwned', expected_version: null },
    400,
    'input.path',
  ],
  [
    'append through a symlinked folder',
    'append',
    { path: 'linkdir/canary.md', text: 'pwned' },
    400,
    'input.path',
  ],
  [
    'append create in a symlinked folder',
    'append',
    { path: 'linkdir/sub/new.md', text: 'x', create_if_missing: true },
    400,
    'input.path',
  ],
  ['list a symlinked folder', 'list', { path: 'linkdir' }, 400, 'input.path'],
  ['backlinks of a symlinked note', 'backlinks', { path: 'escape.md' }, 400, 'input.path'],
  ['hidden config file', 'read', { path: '.obsidian/config' }, 400, 'input.path'],
  [
    'hidden folder write',
    'write',
    { path: '.obsidian/evil.md', body: 'x', expected_version: null },
    400,
    'input.path',
  ],
  ['non-Markdown extension', 'read', { path: 'note.md.exe' }, 400, 'input.path'],
  [
    'non-Markdown write',
    'write',
    { path: 'run.sh', body: 'rm -rf /', expected_version: null },
    400,
    'input.path',
  ],
  ['text file', 'read', { path: 'notes.txt' }, 400, 'input.path'],
  ['empty path', 'read', { path: '' }, 400, 'input.path'],
  ['very long path', 'read', { path: `${'a/'.repeat(1000)}x.md` }, 400, 'input.path'],
  [
    'body over the limit in characters',
    'write',
    { path: 'Huge.md', body: 'x'.repeat(MAX_NOTE_BYTES + 1), expected_version: null },
    400,
    'input.body',
  ],
  [
    'body over the limit in bytes',
    'write',
    { path: 'Huge.md', body: '€'.repeat(MAX_NOTE_BYTES / 2), expected_version: null },
    413,
    undefined,
  ],
  [
    'body over the HTTP limit',
    'write',
    { path: 'Huge.md', body: 'x'.repeat(2 * 1048576), expected_version: null },
    413,
    undefined,
  ],
  ['huge query', 'search', { query: 'quantum '.repeat(2000) }, 400, 'input.query'],
  ['too many tags', 'search', { tags: Array.from({ length: 100 }, (_, i) => `t${i}`) }, 400, 'input.tags'],
  ['tag with a space', 'search', { tags: ['a b'] }, 400, 'input.tags.0'],
  ['neither query nor tags', 'search', { query: '   ' }, 400, 'input.query'],
  ['path of the wrong type', 'read', { path: 42 }, 400, 'input.path'],
  ['path as an array', 'read', { path: ['Welcome.md'] }, 400, 'input.path'],
  ['input not an object', 'read', 'Welcome.md', 400, 'input'],
  ['unknown field', 'read', { path: 'Welcome.md', raw: true }, 400, 'input.raw'],
  ['negative limit', 'search', { query: 'quantum', limit: -1 }, 400, 'input.limit'],
  ['huge limit', 'search', { query: 'quantum', limit: 1e9 }, 400, 'input.limit'],
  ['negative offset', 'backlinks', { path: 'Welcome.md', offset: -5 }, 400, 'input.offset'],
  ['fractional offset', 'list', { offset: 1.5 }, 400, 'input.offset'],
  ['huge offset', 'list', { offset: 1e12 }, 400, 'input.offset'],
  ['zero limit', 'list', { limit: 0 }, 400, 'input.limit'],
  ['limit as a string', 'search', { query: 'q', limit: '10' }, 400, 'input.limit'],
  [
    'malformed expected_version',
    'write',
    { path: 'Welcome.md', body: 'x', expected_version: '../x' },
    400,
    'input.expected_version',
  ],
  ['missing expected_version', 'write', { path: 'Welcome.md', body: 'x' }, 400, 'input.expected_version'],
  ['stale expected_version', 'write', { path: 'Welcome.md', body: 'x', expected_version: v }, 409, undefined],
  [
    'frontmatter that is not an object',
    'write',
    { path: 'F.md', body: 'x', frontmatter: 'tags: x', expected_version: null },
    400,
    'input.frontmatter',
  ],
  ['empty append', 'append', { path: 'Welcome.md', text: '' }, 400, 'input.text'],
];

const outsideFiles = () => readdirSync(vault.outside).sort();

test.each(cases)(
  '%s (%s) is answered %s, at once, harmlessly',
  async (_label, action, rawInput, status, field) => {
    const input =
      rawInput && typeof rawInput === 'object' && (rawInput as { path?: unknown }).path === '<canary>'
        ? { ...(rawInput as object), path: vault.canary }
        : rawInput;
    const before = outsideFiles();
    const started = Date.now();
    const res = await request(agent.url).post(`/v1/actions/${action}`).send({ input });
    expect(Date.now() - started).toBeLessThan(ANSWER_BOUND_MS);
    expect(res.status).toBe(status);
    if (status >= 400) {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.status).toBe(status);
    } else if (action === 'write') {
      // What was written is read back, parsed, within the same bound.
      const read = await request(agent.url)
        .post('/v1/actions/read')
        .send({ input: { path: res.body.output.path } });
      expect(read.status).toBe(200);
      expect(read.body.output.version).toBe(res.body.output.version);
    }
    if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(res.text).not.toContain(CANARY);
    // The agent is unharmed: the next request is answered at once.
    const next = await request(agent.url)
      .post('/v1/actions/read')
      .send({ input: { path: 'Welcome.md' } });
    expect(next.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2 * ANSWER_BOUND_MS);
    // Nothing outside the vault was read, written or added.
    expect(outsideReads.read()).toEqual([]);
    expect(outsideFiles()).toEqual(before);
    expect(outsideMeta()).toEqual(outsideBefore);
  },
);

test('resolve refuses the same paths, and nothing leaked or changed', async () => {
  for (const [action, input] of [
    ['read', { path: 'escape.md' }],
    ['read', { path: '../outside/canary.md' }],
    ['list', { path: 'linkdir' }],
    // The version of a path is looked up live too: its file system errors are the caller's there as well.
    ['read', { path: 'loop.md' }],
    ['list', { path: 'folder-loop' }],
  ] as const) {
    const res = await request(agent.url).post(`/v1/actions/${action}/resolve`).send({ input });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(CANARY);
  }
  expect(outsideReads.read()).toEqual([]);
  expect(outsideMeta()).toEqual(outsideBefore);
  expect(readFileSync(vault.canary, 'utf8')).toBe(`# Secret\n${CANARY}\n`);
  expect(existsSync(path.join(vault.outside, 'new.md'))).toBe(false);
  // No refused request created, changed or left anything in the vault either: only the notes served.
  const served = cases.filter((c) => c[3] === 200).map((c) => (c[2] as { path: string }).path);
  expect(vault.files()).toEqual([...filesBefore, ...served].sort());
  expect(vault.read('Welcome.md')).not.toBe('x');
});

test('escapes through links are counted', async () => {
  const text = (await request(agent.url).get('/metrics')).text;
  const escapes = Number(/^agent_obsidian_path_escapes_total\{pool="obsidian"\} (\d+)$/m.exec(text)?.[1]);
  expect(escapes).toBeGreaterThanOrEqual(9);
});
