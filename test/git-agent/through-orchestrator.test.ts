import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pushedVersionsCurrent } from '../support/orchestrator.ts';
import { startThroughOrchestrator, type ThroughOrchestrator } from '../support/through-orchestrator.ts';
import { BOB, buildRepos, type Fixture } from './fixture.ts';

let fx: Fixture;
let o: ThroughOrchestrator;

beforeAll(async () => {
  fx = buildRepos();
  o = await startThroughOrchestrator('git', { GIT_REPOS_ROOT: fx.root });
  expect(await pushedVersionsCurrent(o.orchestrator.url, 'git')).toBe(true);
});
afterAll(async () => {
  await o?.stop();
  fx?.cleanup();
});

test('log through the orchestrator: the real commits, MISS then HIT, the correlation id in the agent logs', async () => {
  const input = { repo: 'project', ref: 'main', limit: 2 };
  const first = await o.task({ action: 'log', input }, 'corr-git-log-1');
  expect(first.status).toBe(200);
  expect(first.headers['x-cache']).toBe('MISS');
  expect(first.body.output.commits.map((c: { sha: string }) => c.sha)).toEqual([
    fx.commits.c4,
    fx.commits.c3,
  ]);
  expect(first.body.output.next_cursor).toBe(`${fx.commits.c4}.2`);

  const second = await o.task({ action: 'log', input }, 'corr-git-log-2');
  expect(second.status).toBe(200);
  expect(second.headers['x-cache']).toBe('HIT');
  expect(second.body.output).toEqual(first.body.output);

  // The agent's access log names the correlation id: the MISS ran the action, keyed by the commit the
  // agent published for main (no resolve call); the HIT did not call the agent at all.
  const urls = async (id: string) => {
    await o.loggedByBoth(id);
    // The last lines may still be in the agent's log batch (written at least every 200 ms).
    await sleep(400);
    return o.agent.logs
      .filter((l) => l.correlation_id === id && String(l.url).startsWith('/v1/actions/log'))
      .map((l) => l.url);
  };
  expect(await urls('corr-git-log-1')).toEqual(['/v1/actions/log']);
  expect(await urls('corr-git-log-2')).toEqual([]);
});

test('a new commit on the branch is a new cache key: the new answer within a second, never the old one after it', async () => {
  const input = { repo: 'project', ref: 'main', path: 'README.md' };
  const before = await o.task({ action: 'read', input }, 'corr-git-read-1');
  expect(before.headers['x-cache']).toBe('MISS');
  expect((await o.task({ action: 'read', input }, 'corr-git-read-2')).headers['x-cache']).toBe('HIT');
  const sha = fx.commit(BOB, 'New readme', { 'README.md': 'moved on\n' });
  const moved = Date.now();
  let after = await o.task({ action: 'read', input }, 'corr-git-read-3');
  while (after.body.output?.commit !== sha && Date.now() - moved < 3000) {
    expect(after.body.output.commit).toBe(before.body.output.commit); // the old commit, or the new one
    after = await o.task({ action: 'read', input }, 'corr-git-read-3');
  }
  expect(Date.now() - moved).toBeLessThan(1000);
  expect(after.status).toBe(200);
  expect(after.headers['x-cache']).toBe('MISS');
  expect(after.body.output).toMatchObject({ commit: sha, content: 'moved on\n' });
  for (let i = 0; i < 10; i += 1) {
    expect((await o.task({ action: 'read', input }, `corr-git-read-${4 + i}`)).body.output.commit).toBe(sha);
  }
});

test('hostile input is the agent\u2019s 4xx with the field named, passed through unchanged', async () => {
  const res = await o.task(
    { action: 'read', input: { repo: 'project', ref: 'main', path: '../../etc/passwd' } },
    'corr-git-bad-1',
  );
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([expect.objectContaining({ field: 'input.path' })]);
  expect(JSON.stringify(res.body)).not.toContain('root:');
});

test('without GIT_REPOS_ROOT the entry point exits 78 naming the variable', async () => {
  const child = spawn(process.execPath, ['services/git-agent/main.ts'], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code).toBe(78);
  expect(stderr).toContain('GIT_REPOS_ROOT');
});
