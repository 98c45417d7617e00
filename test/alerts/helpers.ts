import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { AlertingRule, RuleGroup } from '../../alerts/lib.ts';
import { outputs } from '../../alerts/render.ts';
import { TESTS_DIR } from './render.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PROMTOOL = process.env['PROMTOOL'] ?? 'promtool';

/** The alerts the seed's 6.3 names, exactly as it spells them. */
export const SEED_ALERTS = [
  'OrchestratorHighCPU',
  'OrchestratorHighMemory',
  'AgentHighCPU',
  'AgentHighMemory',
  'OrchestratorHighErrorRate',
  'OrchestratorCacheHitRatioLow',
  'AgentHealthDegraded',
  'RedisReplicationLagHigh',
];

export type Result = { code: number; stdout: string; stderr: string };

/** Runs a program to the end; never rejects (the exit code is in the result). */
export function run(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Result> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The committed rule files, as Prometheus will read them. */
export function readRuleFile(path: string): RuleGroup[] {
  return (parse(readFileSync(join(ROOT, path), 'utf8')) as { groups: RuleGroup[] }).groups;
}

export function alertsOf(groups: RuleGroup[]): AlertingRule[] {
  return groups.flatMap((g) => g.rules).filter((r): r is AlertingRule => 'alert' in r);
}

export const normalAlerts = () => alertsOf(readRuleFile(outputs.rules));

export type PromtoolTestFile = {
  rule_files: string[];
  tests: Array<{
    name: string;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
  }>;
};

/** The promtool unit-test files, by repository-relative path. */
export function testFiles(): Map<string, PromtoolTestFile> {
  const files = new Map<string, PromtoolTestFile>();
  for (const name of readdirSync(join(ROOT, TESTS_DIR)).sort()) {
    const path = `${TESTS_DIR}/${name}`;
    files.set(path, parse(readFileSync(join(ROOT, path), 'utf8')) as PromtoolTestFile);
  }
  return files;
}
