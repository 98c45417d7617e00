/**
 * Where a run sends its traffic. `local`: the local stack's TLS load balancer, certificate, API key,
 * Pushgateway and Prometheus, read from `npm run stack -- status --json` (PHOENIX_PORT_BASE and
 * PHOENIX_STACK_DIR choose the stack). `cluster`: a URL given on the command line, accepted only with
 * the explicit cluster flag; without it every address must be on loopback.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import path from 'node:path';
import type { StackStatus } from '../../stack/status.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The document `stack status --json` prints; stack/status.ts is its one definition. */
export type { StackStatus } from '../../stack/status.ts';

export interface Target {
  kind: 'local' | 'cluster';
  url: string;
  apiKey: string;
  /** PEM file trusted for the load balancer's certificate (NODE_EXTRA_CA_CERTS). */
  ca?: string;
  pushgateway?: string;
  prometheus?: string;
}

/** localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

export function assertAllowed(url: string, what: string, cluster: boolean): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what} is not a URL: ${url}`);
  }
  if (!/^https?:$/.test(u.protocol)) throw new Error(`${what} must be http(s): ${url}`);
  if (!cluster && !isLoopbackHost(u.hostname)) {
    throw new Error(
      `${what} ${url} is not on loopback: load runs send traffic only to 127.0.0.1/localhost unless --cluster is given`,
    );
  }
}

/** `npm run stack -- <args>` (the real CLI), with this process's environment. */
export function stackCli(
  args: string[],
  timeoutMs = 120000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'stack', 'cli.ts'), ...args],
      { env: process.env, maxBuffer: 16 << 20, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function stackStatus(): Promise<StackStatus> {
  const r = await stackCli(['status', '--json'], 30000);
  try {
    return JSON.parse(r.stdout) as StackStatus;
  } catch {
    throw new Error(`npm run stack -- status --json failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

export async function localTarget(): Promise<{ target: Target; status: StackStatus }> {
  const status = await stackStatus();
  if (!status.up) {
    const bad = status.processes.filter((p) => !p.healthy).map((p) => p.name);
    throw new Error(
      status.processes.length === 0
        ? 'the local stack is not up: start it with `npm run stack -- up`'
        : `the local stack is not healthy (${bad.join(', ')}): see \`npm run stack -- status\``,
    );
  }
  if (!status.api_key) throw new Error('the local stack has no API key file');
  const target: Target = {
    kind: 'local',
    url: status.lb,
    apiKey: status.api_key,
    ca: status.lb_ca_cert,
    pushgateway: status.pushgateway,
    prometheus: status.prometheus,
  };
  for (const [what, url] of [
    ['the load balancer', target.url],
    ['the Pushgateway', target.pushgateway!],
    ['Prometheus', target.prometheus!],
  ] as const) {
    assertAllowed(url, what, false);
  }
  return { target, status };
}
