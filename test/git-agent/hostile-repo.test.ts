import request from 'supertest';
import type { GitAgent } from '../../services/git-agent/app.ts';
import { readDetector } from '../support/read-detector.ts';
import { buildRepos, gitAgentFor, type Fixture } from './fixture.ts';
import { buildHostileRepo } from './hostile-repo.ts';

let fx: Fixture;
let hostile: ReturnType<typeof buildHostileRepo>;
let detector: ReturnType<typeof readDetector>;
let agent: GitAgent;

beforeAll(() => {
  fx = buildRepos();
  hostile = buildHostileRepo(fx);
  detector = readDetector(hostile.outsideFiles);
  detector.check(fx.canary);
  detector.arm();
  agent = gitAgentFor(fx.root);
});
afterAll(async () => {
  await agent.stop();
  fx.cleanup();
});

/** Every action, with inputs that make git read content, attributes, renames and authors. */
const ACTIONS: Array<[action: string, input: Record<string, unknown>]> = [
  ['log', { ref: 'main' }],
  ['log', { ref: 'main', path: 'docs/moved.md' }],
  ['show', { ref: 'main' }],
  ['show', { ref: 'main~1' }],
  ['diff', { from: 'main~1', to: 'main' }],
  ['diff', { from: 'main~1', to: 'main', path: 'src' }],
  ['tree', { ref: 'main' }],
  ['read', { ref: 'main', path: 'src/a.txt' }],
  ['grep', { ref: 'main', pattern: 'two' }],
  ['grep', { ref: 'main~1', pattern: 't[wh]', regex: true }],
  ['blame', { ref: 'main', path: 'src/a.txt' }],
];

const call = (action: string, input: unknown, kind = '') =>
  request(agent.app).post(`/v1/actions/${action}${kind}`).send({ input });

const withoutRepo = (output: Record<string, unknown>) => {
  const { repo: _repo, ...rest } = output;
  return rest;
};

test('a repository whose own configuration, attributes and hooks name commands: every action runs none of them, reads nothing outside it, and answers as a clean clone does', async () => {
  const bodies: string[] = [];
  for (const [action, input] of ACTIONS) {
    const [dirty, clean] = await Promise.all([
      call(action, { repo: 'hostile', ...input }),
      call(action, { repo: 'clean.git', ...input }),
    ]);
    bodies.push(dirty.text);
    expect({ action, input, status: dirty.status }).toEqual({ action, input, status: 200 });
    expect(clean.status).toBe(200);
    expect({ action, input, output: withoutRepo(dirty.body.output) }).toEqual({
      action,
      input,
      output: withoutRepo(clean.body.output),
    });
    const resolved = await call(action, { repo: 'hostile', ...input }, '/resolve');
    expect(resolved.status).toBe(200);
    bodies.push(resolved.text);
  }
  const repos = await call('repos', {});
  expect(repos.body.output.repos).toContainEqual({ name: 'hostile', bare: false });

  expect(hostile.commandsRan()).toBe('');
  expect(detector.read()).toEqual([]);
  for (const body of bodies) expect(body).not.toContain(hostile.secret);
});
