import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { GitAgent } from '../../services/git-agent/app.ts';
import { readDetector } from '../support/read-detector.ts';
import { ALICE, buildRepos, commit, git, gitAgentFor, type Fixture } from './fixture.ts';

let fx: Fixture;
let outsideSha: string;
let agent: GitAgent;
let slowAgent: GitAgent;
let outsideReads: ReturnType<typeof readDetector>;
/** Every hostile request is answered well within this, whatever it asks. */
const ANSWER_BOUND_MS = 2000;
/** Every response body, to check afterwards that no text from outside the repositories leaked. */
const bodies: string[] = [];
const injected = () => [
  path.join(fx.base, 'injected'),
  path.join(os.tmpdir(), `phoenix-git-injected-${process.pid}`),
];

beforeAll(() => {
  fx = buildRepos();
  // A repository outside the root holding the canary, reachable only through a symlinked folder.
  const outside = path.join(fx.base, 'outside-repo');
  mkdirSync(outside);
  git(outside, ['init', '-q', '-b', 'main']);
  outsideSha = commit(outside, ALICE, 'secret', { 'secret.txt': `${fx.canaryText}\n` });
  // Were the agent's git to inherit GIT_* variables, this would let every repository see the outside objects.
  process.env.GIT_ALTERNATE_OBJECT_DIRECTORIES = path.join(outside, '.git', 'objects');
  symlinkSync(outside, path.join(fx.root, 'escape'));
  writeFileSync(path.join(fx.root, 'plain-file'), 'not a folder\n');
  agent = gitAgentFor(fx.root);
  slowAgent = gitAgentFor(fx.root, { GIT_TIMEOUT_MS: '500' });
  // The canary outside the repositories, and the outside repository's files: none may be read.
  const objects = readdirSync(path.join(outside, '.git', 'objects'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
  outsideReads = readDetector([fx.canary, path.join(outside, 'secret.txt'), ...objects]);
  outsideReads.check(path.join(outside, 'secret.txt'));
  outsideReads.arm();
});
afterAll(() => {
  delete process.env.GIT_ALTERNATE_OBJECT_DIRECTORIES;
});
afterAll(async () => {
  await Promise.all([agent.stop(), slowAgent.stop()]);
  fx.cleanup();
});

const send = async (target: GitAgent, action: string, body: unknown, kind: 'run' | 'resolve' = 'run') => {
  const url = kind === 'run' ? `/v1/actions/${action}` : `/v1/actions/${action}/resolve`;
  const res = await request(target.app)
    .post(url)
    .send(body as object);
  bodies.push(res.text);
  return res;
};

const outside = () => path.join(fx.base, 'injected');
const repo = 'project';
const ref = 'main';

type Case = [label: string, action: string, input: () => unknown, status: number, field: string | null];
const cases: Case[] = [
  ['ref: --upload-pack', 'log', () => ({ repo, ref: `--upload-pack=touch ${outside()}` }), 400, 'input.ref'],
  ['ref: --output', 'show', () => ({ repo, ref: `--output=${outside()}` }), 400, 'input.ref'],
  ['ref: -c core.pager', 'log', () => ({ repo, ref: `-c core.pager=touch ${outside()}` }), 400, 'input.ref'],
  [
    'diff from: --output',
    'diff',
    () => ({ repo, from: `--output=${outside()}`, to: ref }),
    400,
    'input.from',
  ],
  ['diff to: --ext-diff', 'diff', () => ({ repo, from: ref, to: '--ext-diff' }), 400, 'input.to'],
  ['ref: shell separator', 'tree', () => ({ repo, ref: 'HEAD; rm -rf /' }), 400, 'input.ref'],
  ['ref: $(id)', 'read', () => ({ repo, ref: '$(id)', path: 'README.md' }), 400, 'input.ref'],
  ['ref: backticks', 'blame', () => ({ repo, ref: '`id`', path: 'README.md' }), 400, 'input.ref'],
  ['ref: a range', 'show', () => ({ repo, ref: 'main..feature' }), 400, 'input.ref'],
  ['ref: tree:path syntax', 'show', () => ({ repo, ref: 'HEAD:README.md' }), 400, 'input.ref'],
  ['ref: unknown', 'show', () => ({ repo, ref: 'no-such-ref' }), 404, 'input.ref'],
  ['path: --output', 'read', () => ({ repo, ref, path: `--output=${outside()}` }), 400, 'input.path'],
  ['path: ../../etc/passwd', 'read', () => ({ repo, ref, path: '../../etc/passwd' }), 400, 'input.path'],
  ['path: inner ..', 'blame', () => ({ repo, ref, path: 'src/../../canary-secret.txt' }), 400, 'input.path'],
  ['path: ..%2f encoded', 'read', () => ({ repo, ref, path: '..%2f..%2fetc%2fpasswd' }), 404, 'input.path'],
  ['path: absolute', 'read', () => ({ repo, ref, path: fx.canary }), 400, 'input.path'],
  [
    'path: NUL byte',
    'read',
    () => ({ repo, ref, path: 'README.md\u0000../../etc/passwd' }),
    400,
    'input.path',
  ],
  ['path: backslashes', 'tree', () => ({ repo, ref, path: 'src\\..\\..\\etc' }), 400, 'input.path'],
  ['path: pathspec magic is literal', 'tree', () => ({ repo, ref, path: ':(glob)**' }), 404, 'input.path'],
  ['path: top-level magic is literal', 'read', () => ({ repo, ref, path: ':/README.md' }), 404, 'input.path'],
  ['log path: ..', 'log', () => ({ repo, ref, path: '..' }), 400, 'input.path'],
  ['repo: ..', 'log', () => ({ repo: '..', ref }), 400, 'input.repo'],
  ['repo: with a slash', 'log', () => ({ repo: '../repos/project', ref }), 400, 'input.repo'],
  ['repo: absolute', 'repos', () => ({ repo: '/etc' }), 400, 'input.repo'],
  ['repo: hidden folder', 'log', () => ({ repo: '.git', ref }), 400, 'input.repo'],
  ['repo: NUL byte', 'log', () => ({ repo: 'project\u0000', ref }), 400, 'input.repo'],
  ['repo: a plain folder', 'log', () => ({ repo: 'not-a-repo', ref }), 404, null],
  ['repo: a plain file', 'log', () => ({ repo: 'plain-file', ref }), 404, null],
  [
    'repo: symlink leading outside the root',
    'read',
    () => ({ repo: 'escape', ref, path: 'secret.txt' }),
    404,
    null,
  ],
  ['pattern: huge', 'grep', () => ({ repo, ref, pattern: 'a'.repeat(100000) }), 400, 'input.pattern'],
  ['pattern: several lines', 'grep', () => ({ repo, ref, pattern: 'a\n--output=x' }), 400, 'input.pattern'],
  [
    'pattern: invalid regex',
    'grep',
    () => ({ repo, ref, pattern: '(((', regex: true }),
    400,
    'input.pattern',
  ],
  ['wrong type: limit as text', 'log', () => ({ repo, ref, limit: '10' }), 400, 'input.limit'],
  ['wrong type: ref as number', 'show', () => ({ repo, ref: 42 }), 400, 'input.ref'],
  [
    'wrong type: regex as text',
    'grep',
    () => ({ repo, ref, pattern: 'a', regex: 'yes' }),
    400,
    'input.regex',
  ],
  ['unknown field', 'log', () => ({ repo, ref, exec: 'id' }), 400, 'input.exec'],
  ['oversized limit', 'log', () => ({ repo, ref, limit: 100000 }), 400, 'input.limit'],
  ['oversized skip', 'log', () => ({ repo, ref, skip: 1e12 }), 400, 'input.skip'],
  [
    'oversized max_bytes',
    'read',
    () => ({ repo, ref, path: 'README.md', max_bytes: 1e12 }),
    400,
    'input.max_bytes',
  ],
  [
    'blame: end before start',
    'blame',
    () => ({ repo, ref, path: 'README.md', start_line: 3, end_line: 1 }),
    400,
    'input.end_line',
  ],
  ['cursor: garbage', 'log', () => ({ repo, cursor: '--all' }), 400, 'input.cursor'],
  ['cursor: unknown commit', 'log', () => ({ repo, cursor: `${'f'.repeat(40)}.0` }), 404, 'input.cursor'],
  [
    'cursor and skip together',
    'log',
    () => ({ repo, cursor: `${fx.commits.c4}.1`, skip: 1 }),
    400,
    'input.cursor',
  ],
  ['input: null', 'log', () => null, 400, null],
  ['input: an array', 'show', () => [repo, ref], 400, null],
  // Revision syntax beyond names, SHAs and ~n/^n: refused before git runs.
  ['ref: ^{/regex} search', 'show', () => ({ repo, ref: 'HEAD^{/Initial}' }), 400, 'input.ref'],
  ['ref: ^{tree} peel', 'tree', () => ({ repo, ref: 'main^{tree}' }), 400, 'input.ref'],
  ['ref: a reflog entry', 'log', () => ({ repo, ref: 'HEAD@{1}' }), 400, 'input.ref'],
  [
    'ref: a reflog date',
    'read',
    () => ({ repo, ref: 'main@{yesterday}', path: 'README.md' }),
    400,
    'input.ref',
  ],
  ['ref: the previous branch', 'show', () => ({ repo, ref: '@{-1}' }), 400, 'input.ref'],
  ['ref: an upstream', 'log', () => ({ repo, ref: 'main@{upstream}' }), 400, 'input.ref'],
  ['ref: a message search', 'grep', () => ({ repo, ref: ':/Initial', pattern: 'a' }), 400, 'input.ref'],
  ['ref: an index path', 'blame', () => ({ repo, ref: ':0:README.md', path: 'README.md' }), 400, 'input.ref'],
  ['ref: all parents', 'show', () => ({ repo, ref: 'main^@' }), 400, 'input.ref'],
  ['ref: a huge ~n', 'log', () => ({ repo, ref: 'HEAD~999999999' }), 400, 'input.ref'],
  ['ref: too many steps', 'show', () => ({ repo, ref: `HEAD${'^1'.repeat(21)}` }), 400, 'input.ref'],
  ['ref: a .lock name', 'tree', () => ({ repo, ref: 'refs/heads/main.lock' }), 400, 'input.ref'],
  ['ref: a hidden component', 'log', () => ({ repo, ref: 'refs/.hidden' }), 400, 'input.ref'],
  ['diff from: a reflog entry', 'diff', () => ({ repo, from: 'main@{0}', to: ref }), 400, 'input.from'],
  [
    'diff to: a regex search',
    'diff',
    // (The costly regex is tried in memory-bound.test.ts, under a memory limit.)
    () => ({ repo, from: ref, to: 'HEAD^{/Rename}' }),
    400,
    'input.to',
  ],
  ['ref: ~n past the history', 'show', () => ({ repo, ref: 'main~99999' }), 404, 'input.ref'],
  ['ref: an abbreviated SHA of nothing', 'show', () => ({ repo, ref: 'abcdef0' }), 404, 'input.ref'],
  [
    'pattern: invalid, and naming memory',
    'grep',
    () => ({ repo, ref, pattern: '(Out of memory: Memory exhausted', regex: true }),
    400,
    'input.pattern',
  ],
  ['path: 4096 bytes', 'read', () => ({ repo, ref, path: 'a/'.repeat(2047) + 'bb' }), 404, 'input.path'],
];

/**
 * `/resolve` checks the input and the refs only; what a path or pattern names is found out by the run,
 * and so is a cursor's commit (a cursor pins its commit: its version is the repository's alone).
 */
const RUN_ONLY = new Set([
  'cursor: unknown commit',
  'cursor and skip together',
  'path: ..%2f encoded',
  'path: pathspec magic is literal',
  'path: top-level magic is literal',
  'pattern: invalid regex',
  'path: 4096 bytes',
  'pattern: invalid, and naming memory',
]);

test.each(cases)('%s (%s)', async (label, action, input, status, field) => {
  for (const kind of ['run', 'resolve'] as const) {
    if (kind === 'resolve' && (action === 'repos' || RUN_ONLY.has(label))) continue;
    const started = Date.now();
    const res = await send(agent, action, { input: input() }, kind);
    expect(Date.now() - started).toBeLessThan(ANSWER_BOUND_MS);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.status).toBe(status);
    if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  }
  // The agent is unharmed: the next request is answered at once; nothing outside was read.
  const started = Date.now();
  const next = await send(agent, 'show', { input: { repo, ref } });
  expect(next.status).toBe(200);
  expect(Date.now() - started).toBeLessThan(ANSWER_BOUND_MS);
  expect(outsideReads.read()).toEqual([]);
});

test('a pattern that looks like an option is searched for literally, never parsed as one', async () => {
  for (const pattern of [
    `--output=${outside()}`,
    '-c core.pager=id',
    '--open-files-in-pager=id',
    '-f/etc/passwd',
  ]) {
    const res = await send(agent, 'grep', { input: { repo, ref, pattern } });
    expect(res.status).toBe(200);
    expect(res.body.output.matches).toEqual([]);
  }
});

test('a catastrophic regex is stopped at the timeout with a 422, not a hang', async () => {
  const started = Date.now();
  const res = await send(slowAgent, 'grep', {
    input: {
      repo,
      ref,
      pattern: '(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1z',
      regex: true,
      path: 'data/long-line.txt',
    },
  });
  expect(res.status).toBe(422);
  expect(res.body.type).toBe('urn:phoenix-orch:problem:too-expensive');
  expect(Date.now() - started).toBeLessThan(3000);
  const metrics = (await request(slowAgent.app).get('/metrics')).text;
  expect(metrics).toMatch(/agent_git_commands_total\{command="grep",outcome="timeout",pool="git"\} 1/);
});

test('a symlink inside the repository is served as its target text, not the file it points to', async () => {
  const res = await send(agent, 'read', { input: { repo, ref, path: 'link-out' } });
  expect(res.body.output.content).toBe(fx.canary);
  const grep = await send(agent, 'grep', { input: { repo, ref, pattern: 'CANARY' } });
  expect(grep.body.output.matches).toEqual([]);
});

test('the parent\u2019s GIT_* variables do not reach git: outside objects stay unreachable', async () => {
  const res = await send(agent, 'read', { input: { repo, ref: outsideSha, path: 'secret.txt' } });
  expect(res.status).toBe(404);
  expect(res.body.errors).toEqual([{ field: 'input.ref', message: 'names no commit' }]);
});

test('nothing outside the repositories was read and no injection created a file', () => {
  expect(bodies.length).toBeGreaterThan(cases.length);
  expect(outsideReads.read()).toEqual([]);
  for (const body of bodies) expect(body).not.toContain(fx.canaryText);
  for (const file of injected()) expect(existsSync(file)).toBe(false);
  expect(readdirSync(fx.base).sort()).toEqual(['canary-secret.txt', 'outside-repo', 'repos']);
  expect(existsSync(path.join(fx.project, 'x'))).toBe(false);
});
