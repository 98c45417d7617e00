import request from 'supertest';
import type { GitAgent } from '../../services/git-agent/app.ts';
import { ALICE, BINARY, BOB, CAROL, DAVE, buildRepos, gitAgentFor, type Fixture } from './fixture.ts';

let fx: Fixture;
let agent: GitAgent;

beforeAll(async () => {
  fx = buildRepos();
  agent = gitAgentFor(fx.root, {
    GIT_MAX_FILE_BYTES: '4096',
    GIT_MAX_DIFF_BYTES: '4096',
    GIT_MAX_OUTPUT_BYTES: '65536',
  });
  await agent.refreshHealth();
});
afterAll(async () => {
  await agent.stop();
  fx.cleanup();
});

const act = (name: string, input: unknown) => request(agent.app).post(`/v1/actions/${name}`).send({ input });
const resolve = (name: string, input: unknown) =>
  request(agent.app).post(`/v1/actions/${name}/resolve`).send({ input });
const output = async (name: string, input: unknown) => {
  const res = await act(name, input);
  if (res.status !== 200) throw new Error(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.output;
};

test('the catalogue: eight actions; every ref-taking one resolves, and repos is cached briefly', async () => {
  const res = await request(agent.app).get('/v1/actions');
  expect(res.status).toBe(200);
  expect(res.body.pool).toBe('git');
  const byName = Object.fromEntries(
    (
      res.body.actions as Array<{ name: string; resolve?: boolean; ttl_seconds: number; cacheable: boolean }>
    ).map((a) => [a.name, a]),
  );
  expect(Object.keys(byName).sort()).toEqual([
    'blame',
    'diff',
    'grep',
    'log',
    'read',
    'repos',
    'show',
    'tree',
  ]);
  for (const name of ['blame', 'diff', 'grep', 'log', 'read', 'show', 'tree']) {
    expect(byName[name]).toMatchObject({ cacheable: true, resolve: true, stale_if_error_seconds: 86400 });
    expect(byName[name]!.ttl_seconds).toBeGreaterThanOrEqual(3600);
  }
  // How orchestrators derive the version without asking: the repository, then the ref's commit.
  expect((byName.read as Record<string, unknown>).version_from).toEqual([
    { source: 'repo', args: [{ input: 'repo' }] },
    {
      source: 'ref',
      args: [{ input: 'repo' }, { input: 'ref', default: 'HEAD' }],
      object_id_is_immutable: true,
      field: 'input.ref',
    },
  ]);
  expect(byName.repos!.ttl_seconds).toBeLessThanOrEqual(60);
});

describe('repos', () => {
  test('lists the repositories under the root, bare or not, and nothing else', async () => {
    expect(await output('repos', {})).toEqual({
      repos: [
        { name: 'mirror.git', bare: true },
        { name: 'project', bare: false },
      ],
    });
  });
});

describe('log', () => {
  test('commits of main, newest first, with authors, parents and messages', async () => {
    const out = await output('log', { repo: 'project', ref: 'main' });
    const { c1, c2, c3, c4 } = fx.commits;
    expect(out.commit).toBe(c4);
    expect(out.commits.map((c: { sha: string }) => c.sha)).toEqual([c4, c3, c2, c1]);
    expect(out.commits.map((c: { author: { name: string } }) => c.author.name)).toEqual([
      ALICE.name,
      CAROL.name,
      BOB.name,
      ALICE.name,
    ]);
    const bob = out.commits[2];
    expect(bob).toMatchObject({
      parents: [c1],
      subject: 'Change b and add a logo',
      body: 'The logo is binary.',
      author: { email: BOB.email },
    });
    expect(out.commits[3].parents).toEqual([]);
    expect(out.next_cursor).toBeNull();
  });

  test('the bare mirror answers the same history', async () => {
    const out = await output('log', { repo: 'mirror.git', ref: 'feature' });
    expect(out.commits.map((c: { sha: string }) => c.sha)).toEqual([
      fx.commits.f1,
      fx.commits.c2,
      fx.commits.c1,
    ]);
    expect(out.commits[0].author.name).toBe(DAVE.name);
  });

  test('pages with limit and cursor, and with skip', async () => {
    const { c1, c2, c3, c4 } = fx.commits;
    const first = await output('log', { repo: 'project', ref: 'main', limit: 3 });
    expect(first.commits.map((c: { sha: string }) => c.sha)).toEqual([c4, c3, c2]);
    expect(first.next_cursor).toBe(`${c4}.3`);
    const second = await output('log', { repo: 'project', cursor: first.next_cursor, limit: 3 });
    expect(second.commits.map((c: { sha: string }) => c.sha)).toEqual([c1]);
    expect(second.next_cursor).toBeNull();
    const skipped = await output('log', { repo: 'project', ref: 'main', skip: 1, limit: 1 });
    expect(skipped.commits.map((c: { sha: string }) => c.sha)).toEqual([c3]);
    expect(skipped.next_cursor).toBe(`${c4}.2`);
  });

  test('a path filter keeps only the commits that touched it', async () => {
    const out = await output('log', { repo: 'project', ref: 'main', path: './src//app/main.ts' });
    expect(out.path).toBe('src/app/main.ts');
    expect(out.commits.map((c: { sha: string }) => c.sha)).toEqual([fx.commits.c2, fx.commits.c1]);
  });

  test('an unknown ref is 404, naming the field', async () => {
    const res = await act('log', { repo: 'project', ref: 'no-such-branch' });
    expect(res.status).toBe(404);
    expect(res.body.errors).toEqual([{ field: 'input.ref', message: 'names no commit' }]);
  });
});

describe('show', () => {
  test('a commit with a rename and an added file', async () => {
    const out = await output('show', { repo: 'project', ref: fx.commits.c3 });
    expect(out).toMatchObject({ sha: fx.commits.c3, parents: [fx.commits.c2], author: { name: CAROL.name } });
    expect(out.files).toEqual(
      expect.arrayContaining([
        { status: 'A', path: 'data/big.txt' },
        { status: 'R', path: 'docs/new-name.md', old_path: 'docs/old-name.md', similarity: 100 },
      ]),
    );
  });

  test('a root commit lists every file as added; HEAD~3 navigation works', async () => {
    const out = await output('show', { repo: 'project', ref: 'main~3' });
    expect(out.sha).toBe(fx.commits.c1);
    expect(out.files).toEqual([
      { status: 'A', path: 'README.md' },
      { status: 'A', path: 'docs/old-name.md' },
      { status: 'A', path: 'src/app/main.ts' },
    ]);
  });
});

describe('diff', () => {
  test('hunks and per-file counts between two refs', async () => {
    const out = await output('diff', { repo: 'project', from: fx.commits.c1, to: 'feature~1' });
    expect(out.from).toBe(fx.commits.c1);
    expect(out.to).toBe(fx.commits.c2);
    expect(out.files).toEqual([
      { path: 'assets/logo.bin', additions: null, deletions: null, binary: true },
      { path: 'src/app/main.ts', additions: 1, deletions: 1, binary: false },
    ]);
    expect(out.diff).toContain('@@ -1,3 +1,3 @@');
    expect(out.diff).toContain('\n-export const b = 2;\n+export const b = 20;\n');
    expect(out.truncated).toBe(false);
  });

  test('a path limits the diff; a rename is reported with its old path', async () => {
    const only = await output('diff', { repo: 'project', from: 'main~3', to: 'main', path: 'src' });
    expect(only.files.map((f: { path: string }) => f.path)).toEqual(['src/app/main.ts']);
    expect(only.diff).not.toContain('logo');
    const renamed = await output('diff', { repo: 'project', from: 'main~2', to: 'main~1', path: 'docs' });
    expect(renamed.files).toEqual([
      { path: 'docs/new-name.md', old_path: 'docs/old-name.md', additions: 0, deletions: 0, binary: false },
    ]);
  });

  test('a patch beyond the cap is cut at a line end and reported truncated', async () => {
    const out = await output('diff', { repo: 'project', from: 'main~2', to: 'main~1' });
    expect(out.truncated).toBe(true);
    expect(out.bytes).toBeLessThanOrEqual(4096);
    expect(out.bytes).toBeGreaterThan(3000);
    expect(out.diff.endsWith('\n')).toBe(true);
    expect(out.files).toContainEqual({ path: 'data/big.txt', additions: 4000, deletions: 0, binary: false });
    const small = await output('diff', { repo: 'project', from: 'main~2', to: 'main~1', max_bytes: 100 });
    expect(small.bytes).toBeLessThanOrEqual(100);
  });
});

describe('tree', () => {
  test('every file at a ref, recursively, with sizes', async () => {
    const out = await output('tree', { repo: 'project', ref: 'main' });
    expect(out.entries.map((e: { path: string }) => e.path)).toEqual([
      'README.md',
      'assets/logo.bin',
      'data/big.txt',
      'data/long-line.txt',
      'deep/a/b/c/nested.txt',
      'docs/new-name.md',
      'link-out',
      'src/app/main.ts',
    ]);
    const logo = out.entries.find((e: { path: string }) => e.path === 'assets/logo.bin');
    expect(logo).toMatchObject({ type: 'blob', mode: '100644', size: BINARY.length });
    expect(out.entries.find((e: { path: string }) => e.path === 'link-out').mode).toBe('120000');
  });

  test('one folder, not recursive; older refs show older trees; limit truncates', async () => {
    const out = await output('tree', { repo: 'project', ref: 'main', path: 'deep/a', recursive: false });
    expect(out.entries).toEqual([expect.objectContaining({ path: 'deep/a/b', type: 'tree', size: null })]);
    const old = await output('tree', { repo: 'project', ref: 'main~3' });
    expect(old.entries.map((e: { path: string }) => e.path)).toContain('docs/old-name.md');
    const limited = await output('tree', { repo: 'project', ref: 'main', limit: 2 });
    expect(limited.entries).toHaveLength(2);
    expect(limited.truncated).toBe(true);
  });

  test('a file or a missing folder is refused', async () => {
    expect((await act('tree', { repo: 'project', ref: 'main', path: 'README.md' })).status).toBe(400);
    expect((await act('tree', { repo: 'project', ref: 'main', path: 'nope' })).status).toBe(404);
  });
});

describe('read', () => {
  test('file content at different refs', async () => {
    const main = await output('read', { repo: 'project', ref: 'main', path: 'README.md' });
    expect(main).toMatchObject({ content: '# Project\n\nhello world\n', binary: false, truncated: false });
    const feature = await output('read', { repo: 'project', ref: 'feature', path: 'README.md' });
    expect(feature.content).toBe('# Project\n\nhello feature\n');
    expect(feature.commit).toBe(fx.commits.f1);
    const nested = await output('read', { repo: 'project', ref: 'main', path: 'deep/a/b/c/nested.txt' });
    expect(nested.content).toBe('deep content\nneedle here\n');
  });

  test('a binary file is reported without content', async () => {
    const out = await output('read', { repo: 'project', ref: 'main', path: 'assets/logo.bin' });
    expect(out).toMatchObject({ binary: true, content: null, size: BINARY.length });
  });

  test('a large file is capped and reported truncated', async () => {
    const out = await output('read', { repo: 'project', ref: 'main', path: 'data/big.txt' });
    expect(out.truncated).toBe(true);
    expect(out.size).toBeGreaterThan(100000);
    expect(Buffer.byteLength(out.content)).toBe(4096);
    expect(out.content.startsWith('line 0 of the large file')).toBe(true);
    const ten = await output('read', { repo: 'project', ref: 'main', path: 'data/big.txt', max_bytes: 10 });
    expect(ten.content).toBe('line 0 of ');
  });

  test('a symlink gives its target text, never the file it points to', async () => {
    const out = await output('read', { repo: 'project', ref: 'main', path: 'link-out' });
    expect(out).toMatchObject({ type: 'symlink', content: fx.canary });
    expect(JSON.stringify(out)).not.toContain(fx.canaryText);
  });

  test('a folder is 400, a missing file 404, a path absent at an older ref 404', async () => {
    expect((await act('read', { repo: 'project', ref: 'main', path: 'src' })).status).toBe(400);
    const missing = await act('read', { repo: 'project', ref: 'main', path: 'src/none.ts' });
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].field).toBe('input.path');
    expect((await act('read', { repo: 'project', ref: 'main~3', path: 'data/big.txt' })).status).toBe(404);
  });
});

describe('grep', () => {
  test('a fixed string, with nested paths and line numbers', async () => {
    const out = await output('grep', { repo: 'project', ref: 'main', pattern: 'needle' });
    expect(out.matches).toEqual([{ path: 'deep/a/b/c/nested.txt', line: 2, text: 'needle here' }]);
  });

  test('fixed strings are literal; regex is opt-in; ignore_case', async () => {
    const literal = await output('grep', { repo: 'project', ref: 'main', pattern: 'const [bc]' });
    expect(literal.matches).toEqual([]);
    const regex = await output('grep', {
      repo: 'project',
      ref: 'main',
      pattern: 'const [bc] = [0-9]+',
      regex: true,
    });
    expect(regex.matches).toEqual([
      { path: 'src/app/main.ts', line: 2, text: 'export const b = 20;' },
      { path: 'src/app/main.ts', line: 3, text: 'export const c = 3;' },
    ]);
    const upper = await output('grep', { repo: 'project', ref: 'main', pattern: 'HELLO', ignore_case: true });
    expect(upper.matches).toEqual([{ path: 'README.md', line: 3, text: 'hello world' }]);
  });

  test('binary files are skipped; a path limits the search; results are capped', async () => {
    const png = await output('grep', { repo: 'project', ref: 'main', pattern: 'PNG' });
    expect(png.matches).toEqual([]);
    const scoped = await output('grep', { repo: 'project', ref: 'main', pattern: 'hello', path: 'src' });
    expect(scoped.matches).toEqual([]);
    const capped = await output('grep', { repo: 'project', ref: 'main', pattern: 'large file', limit: 5 });
    expect(capped.matches).toHaveLength(5);
    expect(capped.matches[4]).toEqual({
      path: 'data/big.txt',
      line: 5,
      text: expect.stringMatching(/^line 4 /),
    });
    expect(capped.truncated).toBe(true);
  });

  test('no match is an empty list; an invalid regex is 400 on the pattern', async () => {
    expect((await output('grep', { repo: 'project', ref: 'main', pattern: 'zzzz-nothing' })).matches).toEqual(
      [],
    );
    const bad = await act('grep', { repo: 'project', ref: 'main', pattern: 'a(b', regex: true });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('input.pattern');
  });
});

describe('blame', () => {
  test('ranges of lines with their commit and author', async () => {
    const out = await output('blame', { repo: 'project', ref: 'main', path: 'src/app/main.ts' });
    const { c1, c2 } = fx.commits;
    expect(
      out.ranges.map(
        (r: { start_line: number; end_line: number; commit: string; author: { name: string } }) => [
          r.start_line,
          r.end_line,
          r.commit,
          r.author.name,
        ],
      ),
    ).toEqual([
      [1, 1, c1, ALICE.name],
      [2, 2, c2, BOB.name],
      [3, 3, c1, ALICE.name],
    ]);
    expect(out.ranges[1]).toMatchObject({
      lines: ['export const b = 20;'],
      summary: 'Change b and add a logo',
      author: { email: BOB.email },
    });
  });

  test('a line range, an older ref, and a start past the end', async () => {
    const out = await output('blame', {
      repo: 'project',
      ref: 'main',
      path: 'src/app/main.ts',
      start_line: 2,
      end_line: 3,
    });
    expect(out.ranges.map((r: { start_line: number }) => r.start_line)).toEqual([2, 3]);
    const old = await output('blame', { repo: 'project', ref: 'main~3', path: 'src/app/main.ts' });
    expect(old.ranges).toEqual([
      expect.objectContaining({ start_line: 1, end_line: 3, commit: fx.commits.c1, lines: MAIN_LINES }),
    ]);
    const past = await act('blame', { repo: 'project', ref: 'main', path: 'src/app/main.ts', start_line: 9 });
    expect(past.status).toBe(400);
    expect(past.body.errors[0].field).toBe('input.start_line');
  });
});
const MAIN_LINES = ['export const a = 1;', 'export const b = 2;', 'export const c = 3;'];

describe('health and metrics', () => {
  test('the health report and heartbeat detail name the root, the repository count and git', async () => {
    const res = await request(agent.app).get('/health');
    expect(res.body.checks.repos_root).toMatchObject({
      ok: true,
      detail: { repos_root: fx.root, repos_root_readable: true, repos: 2 },
    });
    expect(res.body.checks.repos_root.detail.git_version).toMatch(/^git version \d+\.\d+/);
  });

  test('git commands, their outcomes and truncations are counted', async () => {
    await output('read', { repo: 'project', ref: 'main', path: 'data/big.txt' });
    const text = (await request(agent.app).get('/metrics')).text;
    expect(text).toMatch(/agent_git_commands_total\{command="log",outcome="ok",pool="git"\} [1-9]/);
    expect(text).toMatch(/agent_git_output_truncations_total\{command="cat-file",pool="git"\} [1-9]/);
    expect(text).toMatch(/agent_git_command_duration_seconds_count\{[^}]*command="rev-parse"[^}]*\} [1-9]/);
    expect(text).toMatch(/agent_git_repos\{pool="git"\} 2/);
  });
});

// Last: these move branches.
describe('resolve: cached answers follow the branch', () => {
  test('a new commit on a branch changes the resolved SHA, and the answer with it', async () => {
    const before = await resolve('read', { repo: 'project', ref: 'main', path: 'README.md' });
    expect(before.status).toBe(200);
    // The version names the repository (a working tree) and the commit the ref names.
    expect(before.body.version).toBe(`work ${fx.commits.c4}`);
    const sha = fx.commit(BOB, 'Update the readme', { 'README.md': '# Project\n\nhello again\n' });
    const after = await resolve('read', { repo: 'project', ref: 'main', path: 'README.md' });
    expect(after.body.version).toBe(`work ${sha}`);
    expect(after.body.version).toBe(`work ${fx.rev('main')}`);
    expect((await output('read', { repo: 'project', ref: 'main', path: 'README.md' })).content).toBe(
      '# Project\n\nhello again\n',
    );
    // A SHA (or a tag-like fixed ref) resolves to itself however main moves.
    expect((await resolve('show', { repo: 'project', ref: fx.commits.c2 })).body.version).toBe(
      `work ${fx.commits.c2}`,
    );
    expect((await resolve('show', { repo: 'mirror.git', ref: fx.commits.c2 })).body.version).toBe(
      `bare ${fx.commits.c2}`,
    );
  });

  test('log and diff versions name every moving input; a cursor stays on its commit', async () => {
    const first = await output('log', { repo: 'project', ref: 'main', limit: 1 });
    const head = fx.rev('main');
    expect((await resolve('log', { repo: 'project', ref: 'main', limit: 1 })).body.version).toBe(
      `work ${head}`,
    );
    fx.commit(CAROL, 'Another', { 'notes.txt': 'n\n' });
    const moved = await resolve('log', { repo: 'project', ref: 'main', limit: 1 });
    expect(moved.body.version).toBe(`work ${fx.rev('main')}`);
    // A cursor names its commit (and is part of the input): nothing else moves its page.
    const byCursor = await resolve('log', { repo: 'project', cursor: first.next_cursor, limit: 1 });
    expect(byCursor.body.version).toBe('work -');
    const next = await output('log', { repo: 'project', cursor: first.next_cursor, limit: 1 });
    expect(next.commits[0].sha).toBe(fx.commits.c4);
    const diff = await resolve('diff', { repo: 'project', from: 'feature', to: 'main' });
    expect(diff.body.version).toBe(`work ${fx.commits.f1} ${fx.rev('main')}`);
  });

  test('moving a branch to another commit (reset) moves the version back', async () => {
    const input = { repo: 'project', ref: 'feature', path: 'README.md' };
    expect((await resolve('blame', input)).body.version).toBe(`work ${fx.commits.f1}`);
    fx.git(['branch', '-f', 'feature', fx.commits.c1]);
    expect((await resolve('blame', input)).body.version).toBe(`work ${fx.commits.c1}`);
    expect((await output('blame', input)).ranges[0].lines).toEqual(['# Project', '', 'hello world']);
  });

  test('repos resolves to a hash of the list, which changes when a repository appears', async () => {
    const before = (await resolve('repos', {})).body.version;
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    fx.git(['clone', '-q', '--bare', fx.project, `${fx.root}/second.git`], fx.root);
    const after = (await resolve('repos', {})).body.version;
    expect(after).not.toBe(before);
    expect((await output('repos', {})).repos.map((r: { name: string }) => r.name)).toContain('second.git');
  });
});

describe('failure modes', () => {
  test('a missing root: unready, the heartbeat says why, and repos answers 503', async () => {
    const broken = gitAgentFor(`${fx.base}/missing`);
    try {
      await broken.refreshHealth();
      broken.service.health.markStarted();
      const health = await request(broken.app).get('/health/ready');
      expect(health.status).toBe(503);
      expect(health.body.checks.repos_root.detail).toMatchObject({ repos_root_readable: false, repos: 0 });
      const res = await request(broken.app).post('/v1/actions/repos').send({ input: {} });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body.detail).not.toContain(fx.base);
    } finally {
      await broken.stop();
    }
  });

  test('beyond GIT_MAX_CONCURRENT git processes, actions answer 503 with Retry-After at once', async () => {
    const narrow = gitAgentFor(fx.root, { GIT_MAX_CONCURRENT: '1' });
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          request(narrow.app)
            .post('/v1/actions/grep')
            .send({ input: { repo: 'project', pattern: 'line' } }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(statuses).toContain(200);
      const busy = results.find((r) => r.status === 503)!;
      expect(busy.body.type).toBe('urn:phoenix-orch:problem:git-busy');
      expect(busy.headers['retry-after']).toBe('1');
    } finally {
      await narrow.stop();
    }
  });
});
