/** wrk for every benchmark: a POST script with headers, one bounded run, the output parsed, medians. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { median } from './measure.ts';

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

const UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

export function parseWrk(raw: string): WrkResult {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)([a-z]+)`, 'm').exec(raw);
    if (!m) throw new Error(`no p${p} in wrk output:\n${raw}`);
    return Number(m[1]) * (UNIT[m[2]!] ?? NaN);
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    rps: Number(/^Requests\/sec:\s+([\d.]+)/m.exec(raw)?.[1] ?? NaN),
    p50: pct('50'),
    p99: pct('99'),
    requests: Number(/^\s*(\d+) requests in/m.exec(raw)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(raw)?.[1] ?? 0),
    errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

/** A wrk Lua script sending `body` as a JSON POST with the given headers. */
export function writePostScript(file: string, body: string, headers: Record<string, string>): string {
  let level = '=';
  while (body.includes(`]${level}]`)) level += '=';
  fs.writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      'wrk.headers["Content-Type"] = "application/json"',
      ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
      `wrk.body = [${level}[${body}]${level}]`,
      '',
    ].join('\n'),
  );
  return file;
}

export interface WrkRun {
  url: string;
  script: string;
  seconds: number;
  connections: number;
  threads?: number;
  /** A command wrk runs under, e.g. `taskset -c 0`. */
  prefix?: string[];
  /** Told of the child at once, so the caller can stop it on an interrupt. */
  track?: (child: ChildProcess) => void;
}

/** One wrk run, bounded in time, loopback URLs only; resolves to wrk's output. */
export async function runWrk(o: WrkRun): Promise<string> {
  const host = new URL(o.url).hostname;
  if (!['127.0.0.1', 'localhost'].includes(host)) throw new Error(`wrk only on loopback, not ${host}`);
  const args = [
    `-t${o.threads ?? 1}`,
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    o.script,
    o.url,
  ];
  const [cmd, ...argv] = [...(o.prefix ?? []), 'wrk', ...args];
  const child = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  o.track?.(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 15) * 1000);
  const code = await new Promise<number | string | null>((r) =>
    child.once('close', (c, signal) => r(c ?? signal)),
  );
  clearTimeout(killer);
  if (code !== 0) throw new Error(`wrk exited ${code}: ${err}${out}`);
  return out;
}

export async function wrk(
  url: string,
  script: string,
  seconds: number,
  connections: number,
): Promise<WrkResult> {
  return parseWrk(await runWrk({ url, script, seconds, connections }));
}

export const combine = (runs: WrkResult[]): WrkResult => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  requests: runs.reduce((a, r) => a + r.requests, 0),
  non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  errors: runs.reduce((a, r) => a + r.errors, 0),
});
