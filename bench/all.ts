/**
 * `npm run bench:all`: every benchmark in one run, one after another on this machine, and one table
 * of the ratios they measured side by side:
 *
 *   bench/orchestrator-hit.ts   orchestrator HIT vs bare Express 5 (one core each)
 *   bench/llm-router.ts         LLM router vs the provider simulator directly
 *   bench/end-to-end.ts         through the local stack: HIT through the TLS load balancer vs direct to
 *                               one orchestrator; MISS through LB + orchestrator vs the agent directly
 *
 * Each benchmark's own output is shown as it runs; the table (with the date, CPU and Node version) is
 * printed at the end and written to .bench/bench-all.md. The benchmarks take their usual env
 * (BENCH_DURATION, BENCH_ROUNDS, ...). Exit 1 if a benchmark failed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PairResult } from './end-to-end.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, '.bench', 'bench-all.md');

function run(script: string): Promise<{ code: number; out: string }> {
  process.stdout.write(`\n=== node ${script} ===\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, script)], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      process.stdout.write(c);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

interface Row {
  measure: string;
  a: string;
  b: string;
  ratio: string;
  added: string;
}

/** "label   12345   2.30 ms   6.58 ms ..." -> req/s and p50. */
function line(out: string, label: string): { rps: number; p50: number } | undefined {
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc}\\s+(\\d+)\\s+([\\d.]+) ms`, 'm').exec(out);
  return m ? { rps: Number(m[1]), p50: Number(m[2]) } : undefined;
}

const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

function hitRows(out: string): Row[] {
  const bare = line(out, 'bare Express 5');
  const hit = line(out, 'orchestrator HIT');
  const ratio = /orchestrator HIT = ([\d.]+)% of bare Express/.exec(out)?.[1];
  if (!bare || !hit) return [];
  return [
    {
      measure: 'orchestrator HIT vs bare Express 5 (one core each, c=50)',
      a: `${hit.rps} req/s`,
      b: `${bare.rps} req/s`,
      ratio: ratio ? `${ratio}% (median of rounds)` : pct(hit.rps, bare.rps),
      added: `p50 ${ms(hit.p50 - bare.p50)} (c=50)`,
    },
  ];
}

function routerRows(out: string): Row[] {
  const d = line(out, 'simulator direct, c=50');
  const r = line(out, 'through router, c=50');
  const d1 = line(out, 'simulator direct, c=1');
  const r1 = line(out, 'through router, c=1');
  if (!d || !r) return [];
  return [
    {
      measure: 'LLM router vs the provider simulator directly (c=50)',
      a: `${r.rps} req/s`,
      b: `${d.rps} req/s`,
      ratio: pct(r.rps, d.rps),
      added: d1 && r1 ? `p50 ${ms(r1.p50 - d1.p50)} (c=1)` : '-',
    },
  ];
}

function e2eRows(out: string): Row[] {
  const json = /^RESULT (.*)$/m.exec(out)?.[1];
  if (!json) return [];
  return (JSON.parse(json) as PairResult[]).map((r) => ({
    measure: `${r.a} vs ${r.b} (c=${r.connections})`,
    a: `${r.ac.rps.toFixed(0)} req/s`,
    b: `${r.bc.rps.toFixed(0)} req/s`,
    ratio: pct(r.ac.rps, r.bc.rps),
    added: `p50 ${ms(r.a1.p50 - r.b1.p50)} (c=1)`,
  }));
}

async function main(): Promise<number> {
  const started = new Date();
  const failed: string[] = [];
  const rows: Row[] = [];
  for (const [script, parse] of [
    ['bench/orchestrator-hit.ts', hitRows],
    ['bench/llm-router.ts', routerRows],
    ['bench/end-to-end.ts', e2eRows],
  ] as const) {
    const r = await run(script);
    const got = parse(r.out);
    if (r.code !== 0 || got.length === 0) failed.push(`${script} (exit ${r.code})`);
    rows.push(...got);
  }
  const cpu =
    /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  const md = [
    `Measured ${started.toISOString().slice(0, 10)} on ${os.cpus().length} cores of ${cpu}, Node ${process.version}` +
      ` (${Math.round((Date.now() - started.getTime()) / 1000)} s):`,
    '',
    '| comparison | A | B | A / B throughput | added latency |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.measure} | ${r.a} | ${r.b} | ${r.ratio} | ${r.added} |`),
    ...(failed.length ? ['', `Failed: ${failed.join(', ')}`] : []),
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, md);
  process.stdout.write(`\n=== all benchmarks (also in ${path.relative(ROOT, OUT)}) ===\n\n${md}`);
  return failed.length ? 1 : 0;
}

process.exit(await main());
