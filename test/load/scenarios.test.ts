/**
 * Every load scenario in its short (CI) form against one local stack of its own (stack/own-stack.ts),
 * one after another: each run injects its faults, restores the stack,
 * and must keep every promise (the driver exits 1 and names what broke otherwise). Each run's report
 * with its charts must be written.
 */
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stack, stackEnv } from '../support/stack.ts';

jest.setTimeout(240000);

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const env = stackEnv('load-scenarios');
const reports = mkdtempSync(path.join(os.tmpdir(), 'phoenix-load-'));

/** The faults last: `failover-redis-primary` leaves another Redis as the primary. */
const SCENARIOS = [
  'sticky-sessions',
  'cache',
  'spike',
  'soak',
  'llm-provider-degraded',
  'agent-pool-loss',
  'failover-orchestrator-kill',
  'rolling-restart',
  'failover-redis-primary',
];

function load(scenario: string): Promise<{ code: number; stderr: string; out: string }> {
  const out = path.join(reports, scenario);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'load', 'run.ts'), scenario, '--form', 'ci', '--out', out],
      { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 230000 },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stderr, out });
      },
    );
  });
}

beforeAll(async () => {
  const r = await stack(env, 'up');
  if (r.code !== 0) throw new Error(`stack up failed: ${r.stderr}`);
}, 240000);

let passed = 0;

afterAll(async () => {
  await stack(env, 'down');
  rmSync(env.PHOENIX_STACK_DIR!, { recursive: true, force: true });
  // The reports (and request logs) stay for a look when a scenario failed.
  if (passed === SCENARIOS.length) rmSync(reports, { recursive: true, force: true });
  else console.log(`load reports kept in ${reports}`);
}, 120000);

test.each(SCENARIOS)('%s keeps its promises in its short form', async (scenario) => {
  const r = await load(scenario);
  const verdict = r.stderr
    .split('\n')
    .filter((l) => /FAIL|PROMISE|held|error|Error/.test(l))
    .join('\n');
  console.log(
    `${scenario}:\n${r.stderr
      .split('\n')
      .filter((l) => /^load: (ok|FAIL)/.test(l))
      .join('\n')}`,
  );
  expect({ scenario, code: r.code, verdict }).toEqual({ scenario, code: 0, verdict: expect.any(String) });
  for (const f of ['report.md', 'latency.png', 'throughput.png', 'artillery.json']) {
    expect(existsSync(path.join(r.out, f))).toBe(true);
  }
  const report = readFileSync(path.join(r.out, 'report.md'), 'utf8');
  expect(report).toContain(`# ${scenario} (ci form): PASSED`);
  expect(report).toContain('![latency](latency.png)');
  passed += 1;
});
