import request from 'supertest';
import { parseMetrics, sample } from '../support/metrics.ts';
import { spawnService, type ServiceProcess } from '../support/process.ts';
import { buildRepos, type Fixture } from './fixture.ts';

/**
 * The whole agent runs under an address-space limit of its own (inherited by its git children), so
 * a git child that escaped its bound fails this test at 3 GiB instead of taking the machine's memory.
 */
const OUTER_LIMIT = 3 * 1073741824;
const GIT_LIMIT = 256 * 1048576;

let fx: Fixture;
let agent: ServiceProcess;

beforeAll(async () => {
  fx = buildRepos();
  agent = await spawnService(
    'services/git-agent/main.ts',
    {
      GIT_REPOS_ROOT: fx.root,
      GIT_MAX_MEMORY_BYTES: String(GIT_LIMIT),
      GIT_TIMEOUT_MS: '10000',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
    },
    'agent listening',
    { wrap: ['prlimit', `--as=${OUTER_LIMIT}`, '--'], readyTimeoutMs: 20000 },
  );
});
afterAll(async () => {
  agent?.kill('SIGKILL');
  await agent?.exited;
  fx?.cleanup();
});

const run = (action: string, input: unknown) =>
  request(agent.url).post(`/v1/actions/${action}`).send({ input });

/** The agent still answers a normal request at once. */
async function expectHealthy() {
  const started = Date.now();
  const log = await run('log', { repo: 'project', ref: 'main', limit: 1 });
  expect(log.status).toBe(200);
  expect(log.body.output.commits[0].sha).toBe(fx.commits.c4);
  expect((await request(agent.url).get('/health')).status).toBe(200);
  expect(Date.now() - started).toBeLessThan(2000);
}

test('a regex-search revision (the 6.85 GB one) is refused before git runs', async () => {
  for (const kind of ['', '/resolve']) {
    const started = Date.now();
    const res = await request(agent.url)
      .post(`/v1/actions/show${kind}`)
      .send({ input: { repo: 'project', ref: 'HEAD^{/.{32767}{32767}}' } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'input.ref', message: expect.stringMatching(/\^\{/) as unknown as string },
    ]);
  }
  await expectHealthy();
});

test('a git child that needs more than its memory bound is stopped by it: 422, and the agent is unharmed', async () => {
  const started = Date.now();
  // glibc compiles nested bounded repetitions into an automaton the size of their product.
  const res = await run('grep', {
    repo: 'project',
    ref: 'main',
    pattern: '((((((((((.{255}){255}){255})))))))',
    regex: true,
  });
  expect(Date.now() - started).toBeLessThan(5000);
  expect(res.status).toBe(422);
  expect(res.body.type).toBe('urn:phoenix-orch:problem:too-expensive');
  expect(res.body.detail).toMatch(/memory/);
  const metrics = parseMetrics((await request(agent.url).get('/metrics')).text);
  expect(
    sample(metrics, 'agent_git_commands_total', { command: 'grep', outcome: 'memory', pool: 'git' }),
  ).toBe(1);
  expect(sample(metrics, 'agent_git_max_memory_bytes', { pool: 'git' })).toBe(GIT_LIMIT);
  await expectHealthy();
});
