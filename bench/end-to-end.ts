/**
 * `npm run bench:e2e`: the end-to-end figures through the local stack, each pair measured side by side
 * with wrk in interleaved rounds on 127.0.0.1:
 *
 *   orchestrator HIT through the TLS load balancer  vs  the same request straight to one orchestrator
 *   MISS (cache: bypass) through the load balancer, an orchestrator and the pool's Service  vs  the
 *   agent's own action endpoint, for an Obsidian `read` (a cheap agent) and a git `log` (a git process)
 *
 * The git pair runs at 8 connections (a git agent runs at most 16 git processes and answers 503
 * beyond), the others at BENCH_CONNECTIONS. Requests carry one correlation id, so the load balancer sends them all to one orchestrator and the
 * HIT pair compares the same single instance with and without the TLS hop. It starts a stack of its
 * own (stack/own-stack.ts: its port base, PHOENIX_PORT_BASE_BENCH_END_TO_END to move it, and its
 * folder) and stops it afterwards;
 * with BENCH_STACK=running it uses the stack PHOENIX_PORT_BASE/PHOENIX_STACK_DIR name, already up.
 * wrk does not verify the load balancer's self-signed certificate (loopback only).
 *
 * Env: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 50).
 * Prints a table and, last, one line `RESULT <json>` for bench/all.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownStackEnv } from '../stack/own-stack.ts';
import { envInt } from './lib/measure.ts';
import { combine, writePostScript, wrk, type WrkResult } from './lib/wrk.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DURATION_S = envInt('BENCH_DURATION', 5);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 50);
const OWN_STACK = process.env.BENCH_STACK !== 'running';

const stackEnv: Record<string, string> = OWN_STACK ? ownStackEnv('bench-end-to-end') : {};

function stack(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'stack', 'cli.ts'), ...args],
      { env: { ...process.env, ...stackEnv }, maxBuffer: 16 << 20, timeout: 240000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) || 1 : 0, stdout, stderr }),
    );
  });
}

interface Pair {
  name: string;
  /** wrk connections (default BENCH_CONNECTIONS). */
  connections?: number;
  a: { label: string; url: string; body: unknown; headers: Record<string, string> };
  b: { label: string; url: string; body: unknown; headers: Record<string, string> };
}

export interface PairResult {
  name: string;
  connections: number;
  a: string;
  b: string;
  ac: WrkResult;
  bc: WrkResult;
  a1: WrkResult;
  b1: WrkResult;
}

async function measure(pair: Pair, dir: string): Promise<PairResult> {
  const script = (side: 'a' | 'b') =>
    writePostScript(
      path.join(dir, `${pair.name.replace(/\W+/g, '-')}-${side}.lua`),
      JSON.stringify(pair[side].body),
      pair[side].headers,
    );
  const sa = script('a');
  const sb = script('b');
  const c = pair.connections ?? CONNECTIONS;
  // Warm both paths (and fill the cache for the HIT pair).
  await wrk(pair.a.url, sa, 2, c);
  await wrk(pair.b.url, sb, 2, c);
  const as: WrkResult[] = [];
  const bs: WrkResult[] = [];
  for (let i = 1; i <= ROUNDS; i += 1) {
    process.stdout.write(`  · ${pair.name}: round ${i}/${ROUNDS}\n`);
    as.push(await wrk(pair.a.url, sa, DURATION_S, c));
    bs.push(await wrk(pair.b.url, sb, DURATION_S, c));
  }
  const a1 = await wrk(pair.a.url, sa, DURATION_S, 1);
  const b1 = await wrk(pair.b.url, sb, DURATION_S, 1);
  const res = {
    name: pair.name,
    connections: c,
    a: pair.a.label,
    b: pair.b.label,
    ac: combine(as),
    bc: combine(bs),
    a1,
    b1,
  };
  for (const [label, w] of [
    [pair.a.label, res.ac],
    [pair.b.label, res.bc],
    [`${pair.a.label} c=1`, a1],
    [`${pair.b.label} c=1`, b1],
  ] as const) {
    if (w.non2xx > 0 || w.errors > 0)
      throw new Error(`${label}: ${w.non2xx} non-2xx, ${w.errors} socket errors`);
  }
  return res;
}

export function table(results: PairResult[]): string {
  const f = (ms: number) => `${ms.toFixed(2)} ms`;
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(44) : c.padStart(11))).join('');
  const lines = [row(['', 'req/s', 'p50', 'p99', 'p50 c=1'])];
  for (const r of results) {
    lines.push(
      row([`${r.a}, c=${r.connections}`, r.ac.rps.toFixed(0), f(r.ac.p50), f(r.ac.p99), f(r.a1.p50)]),
    );
    lines.push(
      row([`${r.b}, c=${r.connections}`, r.bc.rps.toFixed(0), f(r.bc.p50), f(r.bc.p99), f(r.b1.p50)]),
    );
    lines.push(
      `  ratio: ${((r.ac.rps / r.bc.rps) * 100).toFixed(1)}% of the throughput; ` +
        `added p50 at c=1 ${f(r.a1.p50 - r.b1.p50)}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const started = Date.now();
  if (OWN_STACK) {
    process.stdout.write(`starting a stack of its own (ports from ${stackEnv['PHOENIX_PORT_BASE']})\n`);
    let up = await stack('up');
    if (up.code !== 0) {
      // Once more from nothing: a process that failed its start leaves the others up.
      process.stdout.write(`stack up failed (${up.stderr.trim().split('\n')[0]}); trying once more\n`);
      await stack('down');
      up = await stack('up');
    }
    if (up.code !== 0) throw new Error(`stack up failed: ${up.stderr}`);
  }
  const status = JSON.parse((await stack('status', '--json')).stdout) as {
    up: boolean;
    lb: string;
    api_key: string;
    processes: Array<{ name: string; port: number }>;
  };
  if (!status.up) throw new Error('the stack is not up');
  const port = (name: string) => status.processes.find((p) => p.name === name)!.port;
  const lb = status.lb.replace('https://localhost', 'https://127.0.0.1');
  const auth = { Authorization: `Bearer ${status.api_key}`, 'X-Correlation-ID': 'bench-e2e-1' };
  const gitLog = { agent: 'git', action: 'log', input: { repo: 'phoenix-orch', limit: 1 } };
  const hit = { agent: 'obsidian', action: 'read', input: { path: 'On-call.md' } };
  const pairs: Pair[] = [
    {
      name: 'HIT',
      a: { label: 'orchestrator HIT through TLS LB', url: `${lb}/v1/tasks`, body: hit, headers: auth },
      b: {
        label: 'orchestrator HIT direct',
        url: `http://127.0.0.1:${port('orchestrator-1')}/v1/tasks`,
        body: hit,
        headers: auth,
      },
    },
    {
      name: 'MISS obsidian',
      a: {
        label: 'MISS obsidian read through LB',
        url: `${lb}/v1/tasks`,
        body: { ...hit, cache: 'bypass' },
        headers: auth,
      },
      b: {
        label: 'obsidian agent read direct',
        url: `http://127.0.0.1:${port('obsidian-agent-1')}/v1/actions/read`,
        body: { input: hit.input },
        headers: {},
      },
    },
    {
      // A git agent runs at most GIT_MAX_CONCURRENT (16) git processes and answers 503 beyond.
      name: 'MISS git',
      connections: 8,
      a: {
        label: 'MISS git log through LB',
        url: `${lb}/v1/tasks`,
        body: { ...gitLog, cache: 'bypass' },
        headers: auth,
      },
      b: {
        label: 'git agent log direct',
        url: `http://127.0.0.1:${port('git-agent-1')}/v1/actions/log`,
        body: { input: gitLog.input },
        headers: {},
      },
    },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-e2e-bench-'));
  const results: PairResult[] = [];
  try {
    for (const p of pairs) results.push(await measure(p, dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nEnd to end (wrk -t1, ${ROUNDS} interleaved rounds of ${DURATION_S} s, medians; then c=1)\n` +
      `${table(results)}\n(finished in ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
  );
  process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`\nbench FAILED: ${(err as Error).message}\n`);
} finally {
  if (OWN_STACK) {
    await stack('down');
    fs.rmSync(stackEnv['PHOENIX_STACK_DIR']!, { recursive: true, force: true });
  }
}
process.exit(code);
