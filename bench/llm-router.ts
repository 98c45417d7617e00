/**
 * `node bench/llm-router.ts`: chat completions straight to the LLM provider simulator against the
 * same requests through the LLM router, side by side, with wrk on 127.0.0.1.
 *
 * It starts the simulator (load/llm-simulator, zero added delay) and one router process
 * (services/llm-router/main.ts, LOG_LEVEL=info, logs to /dev/null) pointing at it, then runs wrk
 * against each in interleaved rounds at a fixed concurrency, and once more at concurrency 1. The
 * router's added latency is router minus direct at the same percentile. With taskset and 2+ CPUs the
 * router runs alone on the last CPU; the simulator, wrk and this script share the others.
 *
 * Env: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (default 3), BENCH_WARMUP (s, default 2),
 * BENCH_CONNECTIONS (default 50), BENCH_PIN=0 (no pinning), BENCH_STRICT=1 (exit 2 when a goal is missed).
 * Goals (issue 3): >= 3000 req/s through the router on one core; added latency < 0.5 ms at p50 and
 * < 5 ms at p99 (judged at concurrency 1, where latency is not queueing).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../harness/redis-server.ts';
import { CLK_TCK, envInt, machineBusyTicks, median, processTicks } from './lib/measure.ts';
import { parseWrk, runWrk, writePostScript, type WrkResult } from './lib/wrk.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DURATION_S = envInt('BENCH_DURATION', 5);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const WARMUP_S = envInt('BENCH_WARMUP', 2);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 50);
const STRICT = process.env.BENCH_STRICT === '1';
/** Extra node flags for the router, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const GOAL_RPS = 3000;
const GOAL_P50_MS = 0.5;
const GOAL_P99_MS = 5;
const KEY = 'sk-bench-0123456789abcdef';

const COMPLETION = {
  model: 'bench-model',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Summarise the phoenix-orch request flow in one sentence.' },
  ],
  temperature: 0,
  max_tokens: 64,
};

const children = new Set<ChildProcess>();
let tmpDir: string | undefined;

function cpus(): number[] | undefined {
  if (process.env.BENCH_PIN === '0') return undefined;
  try {
    const out = execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' });
    return out
      .slice(out.lastIndexOf(':') + 1)
      .trim()
      .split(',')
      .flatMap((part) => {
        const [a, b] = part.split('-').map(Number);
        return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
      });
  } catch {
    return undefined;
  }
}
const CPUS = cpus();
const PIN = CPUS && CPUS.length >= 2 ? { router: CPUS.at(-1)!, load: CPUS.slice(0, -1) } : undefined;

function start(name: string, args: string[], env: Record<string, string>, pinTo?: number): ChildProcess {
  const [cmd, argv] =
    pinTo === undefined
      ? [process.execPath, args]
      : ['taskset', ['-c', String(pinTo), process.execPath, ...args]];
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.once('exit', (code) => {
    children.delete(child);
    if (code && code !== 0 && !stopping) process.stderr.write(`${name} exited ${code}: ${stderr}\n`);
  });
  children.add(child);
  return child;
}

let stopping = false;
async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all(
    [...children].map(async (c) => {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) c.kill('SIGKILL');
    }),
  );
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}

async function waitFor(url: string, init: RequestInit, name: string): Promise<void> {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const ok = await fetch(url, { ...init, signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name} did not answer 200 at ${url}`);
}

/** Cores used during a run by the router and by processes this bench did not start (other users). */
function cpuMeter(routerPid: number, simPid: number) {
  const snap = () => ({
    at: performance.now(),
    machine: machineBusyTicks(),
    router: processTicks(routerPid).own,
    sim: processTicks(simPid).own,
    self: processTicks(process.pid),
  });
  const a = snap();
  return () => {
    const b = snap();
    const cores = (t: number) => t / CLK_TCK / ((b.at - a.at) / 1000);
    const ours =
      b.router - a.router + (b.sim - a.sim) + (b.self.own - a.self.own) + (b.self.reaped - a.self.reaped);
    return { router: cores(b.router - a.router), others: Math.max(0, cores(b.machine - a.machine - ours)) };
  };
}
let meterPids: { router: number; sim: number } | undefined;

interface Wrk extends WrkResult {
  cpu?: { router: number; others: number };
}

const track = (child: ChildProcess) => {
  children.add(child);
  child.once('exit', () => children.delete(child));
};

async function wrk(url: string, script: string, seconds: number, connections: number): Promise<Wrk> {
  const meter = meterPids ? cpuMeter(meterPids.router, meterPids.sim) : undefined;
  const prefix = PIN ? ['taskset', '-c', PIN.load.join(',')] : [];
  const out = await runWrk({ url, script, seconds, connections, prefix, track });
  const cpu = meter?.();
  return { ...parseWrk(out), ...(cpu ? { cpu } : {}) };
}

const combine = (runs: Wrk[]): Wrk => ({
  ...(runs[0]?.cpu
    ? {
        cpu: {
          router: median(runs.map((r) => r.cpu?.router ?? 0)),
          others: median(runs.map((r) => r.cpu?.others ?? 0)),
        },
      }
    : {}),
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  requests: runs.reduce((a, r) => a + r.requests, 0),
  non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  errors: runs.reduce((a, r) => a + r.errors, 0),
});

async function main(): Promise<number> {
  const started = Date.now();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-llm-bench-'));
  const model = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  console.log('phoenix-orch benchmark: LLM router vs the provider simulator directly\n');
  console.log(`CPU: ${model.trim()} (${os.cpus().length} logical), Node ${process.version}`);
  console.log(
    PIN
      ? `Pinning: router on CPU ${PIN.router}; simulator, wrk and this script on CPU ${PIN.load.join(',')}`
      : 'Pinning: off (needs taskset and 2+ CPUs)',
  );
  console.log(
    `Load: wrk -t1 -c${CONNECTIONS}, ${WARMUP_S} s warm-up, ${ROUNDS} interleaved rounds of ${DURATION_S} s, ` +
      `then -c1 for ${DURATION_S} s each; medians of the rounds\n`,
  );

  const simPort = await freePort();
  const sim = start(
    'simulator',
    ['load/llm-simulator/main.ts'],
    { PORT: String(simPort), SIM_API_KEY: KEY },
    PIN?.load[0],
  );
  const simUrl = `http://127.0.0.1:${simPort}`;
  const routerPort = await freePort();
  const routerChild = start(
    'llm-router',
    [...NODE_ARGS, 'services/llm-router/main.ts'],
    {
      PORT: String(routerPort),
      LOG_LEVEL: 'info',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      BENCH_PROVIDER_KEY: KEY,
      MAX_CONNECTIONS: '10000',
      LLM_PROVIDERS: JSON.stringify([
        {
          name: 'sim',
          type: 'openai',
          base_url: `${simUrl}/v1`,
          api_key_env: 'BENCH_PROVIDER_KEY',
          models: ['bench-model'],
          timeout_ms: 10000,
        },
      ]),
    },
    PIN?.router,
  );
  const routerUrl = `http://127.0.0.1:${routerPort}`;
  const direct = { url: `${simUrl}/v1/chat/completions`, body: JSON.stringify(COMPLETION) };
  const routed = { url: `${routerUrl}/v1/actions/chat`, body: JSON.stringify({ input: COMPLETION }) };
  const init = (body: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body,
  });
  await waitFor(direct.url, init(direct.body), 'simulator');
  await waitFor(routed.url, init(routed.body), 'llm-router');
  meterPids = { router: routerChild.pid!, sim: sim.pid! };
  const directScript = writePostScript(path.join(tmpDir, 'direct.lua'), direct.body, {
    Authorization: `Bearer ${KEY}`,
  });
  const routedScript = writePostScript(path.join(tmpDir, 'routed.lua'), routed.body, {
    Authorization: `Bearer ${KEY}`,
  });

  await wrk(direct.url, directScript, WARMUP_S, CONNECTIONS);
  await wrk(routed.url, routedScript, WARMUP_S, CONNECTIONS);
  const d: Wrk[] = [];
  const r: Wrk[] = [];
  for (let i = 1; i <= ROUNDS; i += 1) {
    process.stdout.write(`  · round ${i}/${ROUNDS}\n`);
    d.push(await wrk(direct.url, directScript, DURATION_S, CONNECTIONS));
    r.push(await wrk(routed.url, routedScript, DURATION_S, CONNECTIONS));
  }
  process.stdout.write('  · concurrency 1\n');
  const d1 = await wrk(direct.url, directScript, DURATION_S, 1);
  const r1 = await wrk(routed.url, routedScript, DURATION_S, 1);
  const dc = combine(d);
  const rc = combine(r);
  for (const [name, w] of [
    ['direct', dc],
    ['router', rc],
    ['direct c1', d1],
    ['router c1', r1],
  ] as const) {
    if (w.non2xx > 0 || w.errors > 0)
      throw new Error(`${name}: ${w.non2xx} non-2xx, ${w.errors} socket errors`);
  }

  const f = (ms: number) => `${ms.toFixed(2)} ms`;
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(28) : c.padStart(i > 3 ? 16 : 12))).join('');
  console.log('\nResults');
  console.log('=======');
  const usPerReq = (w: Wrk) => (w.cpu ? (w.cpu.router / w.rps) * 1e6 : undefined);
  const cpu = (w: Wrk, router: boolean) => [
    w.cpu ? w.cpu.others.toFixed(2) : '-',
    router && usPerReq(w) !== undefined ? `${usPerReq(w)!.toFixed(0)} us` : '-',
  ];
  console.log(row(['', 'req/s', 'p50', 'p99', 'others CPU', 'router CPU/req']));
  console.log(
    row([`simulator direct, c=${CONNECTIONS}`, dc.rps.toFixed(0), f(dc.p50), f(dc.p99), ...cpu(dc, false)]),
  );
  console.log(
    row([`through router, c=${CONNECTIONS}`, rc.rps.toFixed(0), f(rc.p50), f(rc.p99), ...cpu(rc, true)]),
  );
  console.log(row(['simulator direct, c=1', d1.rps.toFixed(0), f(d1.p50), f(d1.p99), ...cpu(d1, false)]));
  console.log(row(['through router, c=1', r1.rps.toFixed(0), f(r1.p50), f(r1.p99), ...cpu(r1, true)]));
  const perReq = usPerReq(rc);
  if (perReq !== undefined)
    console.log(
      `router CPU per request at c=${CONNECTIONS}: ${perReq.toFixed(0)} us, i.e. ~${(1e6 / perReq).toFixed(0)} req/s if it had one core to itself`,
    );
  console.log(
    '("others CPU": cores used during the run by processes this bench did not start; they disturb the figures)',
  );
  const disturbed = [dc, rc, d1, r1].some((w) => (w.cpu?.others ?? 0) > 0.1);
  if (disturbed)
    console.log('WARNING: other processes used > 0.1 core during a run; re-run on a quiet machine.');
  console.log(
    `\nthroughput ratio router / direct (c=${CONNECTIONS}): ${((rc.rps / dc.rps) * 100).toFixed(1)}%`,
  );
  console.log(`router added latency, c=${CONNECTIONS}: p50 ${f(rc.p50 - dc.p50)}, p99 ${f(rc.p99 - dc.p99)}`);
  console.log(`router added latency, c=1:  p50 ${f(r1.p50 - d1.p50)}, p99 ${f(r1.p99 - d1.p99)}`);
  const goals = [
    [`router >= ${GOAL_RPS} req/s on one core`, rc.rps >= GOAL_RPS],
    [`added p50 < ${GOAL_P50_MS} ms (c=1)`, r1.p50 - d1.p50 < GOAL_P50_MS],
    [`added p99 < ${GOAL_P99_MS} ms (c=1)`, r1.p99 - d1.p99 < GOAL_P99_MS],
  ] as const;
  console.log();
  for (const [goal, met] of goals) console.log(`goal ${goal}: ${met ? 'MET' : 'NOT MET'}`);
  if (!PIN) console.log('(router not pinned: "one core" is not enforced on this run)');
  console.log(`(finished in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return STRICT && goals.some(([, met]) => !met) ? 2 : 0;
}

const HARD_LIMIT_MS = ((ROUNDS * 2 + 4) * (DURATION_S + 15) + 60) * 1000;
const watchdog = setTimeout(() => {
  process.stderr.write('bench: over its time bound; stopping\n');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, HARD_LIMIT_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`\nbench FAILED: ${(err as Error).message}\n`);
} finally {
  await stopAll();
}
process.exit(code);
