import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { CANARY, buildVault, startObsidianAgent, type Vault } from './vault-fixture.ts';

let vault: Vault;
let agent: Awaited<ReturnType<typeof startObsidianAgent>>;
let filesBefore: string[];

const MAX_NOTE_BYTES = 4096;

beforeAll(async () => {
  vault = buildVault();
  agent = await startObsidianAgent(vault.vault, { OBSIDIAN_MAX_NOTE_BYTES: String(MAX_NOTE_BYTES) });
  filesBefore = vault.files();
});
afterAll(async () => {
  await agent.stop();
  vault.cleanup();
});

type Case = [label: string, action: string, input: unknown, status: number, field: string | undefined];

const v = '0123456789abcdef0123456789abcdef';
const cases: Case[] = [
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

test.each(cases)('%s (%s) is answered 4xx', async (_label, action, rawInput, status, field) => {
  const input =
    rawInput && typeof rawInput === 'object' && (rawInput as { path?: unknown }).path === '<canary>'
      ? { ...(rawInput as object), path: vault.canary }
      : rawInput;
  const before = outsideFiles();
  const res = await request(agent.url).post(`/v1/actions/${action}`).send({ input });
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.status).toBe(status);
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  expect(res.text).not.toContain(CANARY);
  expect(outsideFiles()).toEqual(before);
  expect(vault.outsideState()).toBe(vault.initialOutside);
});

test('resolve refuses the same paths, and nothing leaked or changed', async () => {
  for (const [action, input] of [
    ['read', { path: 'escape.md' }],
    ['read', { path: '../outside/canary.md' }],
    ['list', { path: 'linkdir' }],
  ] as const) {
    const res = await request(agent.url).post(`/v1/actions/${action}/resolve`).send({ input });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(CANARY);
  }
  expect(vault.outsideState()).toBe(vault.initialOutside);
  expect(existsSync(path.join(vault.outside, 'new.md'))).toBe(false);
  // No hostile request created, changed or left anything in the vault either.
  expect(vault.files()).toEqual(filesBefore);
  expect(vault.read('Welcome.md')).not.toBe('x');
});

test('escapes through links are counted', async () => {
  const text = (await request(agent.url).get('/metrics')).text;
  const escapes = Number(/^agent_obsidian_path_escapes_total\{pool="obsidian"\} (\d+)$/m.exec(text)?.[1]);
  expect(escapes).toBeGreaterThanOrEqual(9);
});
