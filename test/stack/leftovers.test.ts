/**
 * A killed test run leaves its stack running. The next run's `up` in the same folder finds those
 * processes (the state file has their pids), stops the ones this folder started, and starts from
 * nothing, instead of failing with "Address already in use" on its own ports. A stack whose owner
 * still runs is not taken from it.
 */
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { layout, loadOptions } from '../../stack/layout.ts';
import { isRunning, readState, startedHere, type RunningProcess } from '../../stack/supervisor.ts';
import { stack, stackEnv, stackStatus, waitFor } from '../support/stack.ts';

jest.setTimeout(240000);

const ONE_EACH = {
  PHOENIX_ORCHESTRATORS: '1',
  PHOENIX_GIT_AGENTS: '1',
  PHOENIX_LLM_ROUTERS: '1',
  PHOENIX_OBSIDIAN_AGENTS: '1',
};
const env = { ...stackEnv('stack-leftovers'), ...ONE_EACH };
const l = layout(loadOptions({ ...process.env, ...env }));
const CLI = path.resolve(import.meta.dirname, '..', '..', 'stack', 'cli.ts');

/** Stands in for the previous test run: the stack's owner, killed with the run. */
let previousRun: ChildProcess | undefined;

afterAll(async () => {
  previousRun?.kill('SIGKILL');
  await stack(env, 'down');
});

const running = (ps: RunningProcess[]) => ps.filter((p) => isRunning(p.pid, p.command));

test("an up killed mid-start, whose run died too, is cleaned by the next run's up", async () => {
  // Start from nothing, whatever an earlier run of this test left.
  await stack({ ...env, PHOENIX_STACK_OWNER: '' }, 'down');

  previousRun = spawn('sleep', ['600'], { stdio: 'ignore' });
  const killedUp = spawn(process.execPath, [CLI, 'up'], {
    env: { ...process.env, ...env, PHOENIX_STACK_OWNER: String(previousRun.pid) },
    stdio: 'ignore',
  });
  // Redis and the Sentinels (stages 1-3) are recorded as soon as they are started.
  await waitFor(
    'the first processes of the killed up',
    async () => (Object.keys(readState(l)?.processes ?? {}).length >= 6 ? true : undefined),
    60000,
  );
  killedUp.kill('SIGKILL');
  const left = running(Object.values(readState(l)!.processes));
  expect(left.length).toBeGreaterThanOrEqual(6);

  const refused = await stack(env, 'up');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`belongs to running process ${previousRun.pid}`);
  expect(running(left)).toHaveLength(left.length);

  previousRun.kill('SIGKILL');
  await waitFor(
    'the previous run to end',
    async () => previousRun!.exitCode !== null || previousRun!.signalCode !== null,
  );

  const up = await stack(env, 'up');
  expect({ code: up.code, stderr: up.stderr }).toEqual({
    code: 0,
    stderr: expect.stringContaining(`left by another run (process ${previousRun.pid}, gone): stopping`),
  });
  expect(running(left)).toEqual([]);
  const status = await stackStatus(env);
  expect(status.up).toBe(true);
  const pids = new Set(status.processes.map((p) => p.pid));
  for (const p of left) expect(pids.has(p.pid)).toBe(false);

  // Every kind of process the stack starts is recognised as started here, so none would be left over.
  const started = Object.values(readState(l)!.processes);
  expect(started.filter((p) => !startedHere(p, l)).map((p) => p.name)).toEqual([]);
  expect((await stack(env, 'down')).code).toBe(0);
  expect(running(started)).toEqual([]);
});
