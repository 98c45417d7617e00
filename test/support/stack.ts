import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ownStackEnv, type StackUser } from '../../stack/own-stack.ts';
import type { StackStatus } from '../../stack/status.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export type { StackStatus } from '../../stack/status.ts';

/** The environment of a test's stack of its own (stack/own-stack.ts), driven through the real CLI. */
export const stackEnv = (user: StackUser) => ownStackEnv(user);

export function stack(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'stack', 'cli.ts'), ...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 180000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function stackStatus(env: Record<string, string>): Promise<StackStatus> {
  const r = await stack(env, 'status', '--json');
  return JSON.parse(r.stdout) as StackStatus;
}

export { lbClient, type LbClient, type LbResponse } from '../../stack/lb-client.ts';
import type { LbClient } from '../../stack/lb-client.ts';

export interface LoadResult {
  ok: number;
  failed: Array<{ at: number; method: string; path: string; status: number | string; body?: string }>;
  servedBy: Map<string, number>;
}

/**
 * Sends requests from `concurrency` loops until `stop()` resolves; every response that is not the
 * expected status (or no response at all) is a failure.
 */
export function steadyLoad(
  client: LbClient,
  next: (i: number) => {
    method: string;
    path: string;
    body?: unknown;
    headers?: Record<string, string>;
    expect: number;
  },
  concurrency: number,
) {
  const result: LoadResult = { ok: 0, failed: [], servedBy: new Map() };
  let running = true;
  let i = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      const r = next(i++);
      try {
        const res = await client.request(r.method, r.path, { body: r.body, headers: r.headers });
        if (res.status === r.expect) {
          result.ok += 1;
          const by = String(res.headers['x-served-by']);
          result.servedBy.set(by, (result.servedBy.get(by) ?? 0) + 1);
        } else {
          result.failed.push({
            at: Date.now(),
            method: r.method,
            path: r.path,
            status: res.status,
            body: res.body.slice(0, 300),
          });
        }
      } catch (err) {
        result.failed.push({ at: Date.now(), method: r.method, path: r.path, status: String(err) });
      }
      await sleep(5);
    }
  });
  return {
    result,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function promQuery(
  s: StackStatus,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${s.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  return body.data.result;
}
