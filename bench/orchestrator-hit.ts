/**
 * `npm run bench`: the orchestrator's cache-HIT path against a bare Express 5 server, side by side on
 * this machine, then the resident memory of one orchestrator holding 1000 idle keep-alive connections.
 *
 * It starts a real Redis, the test agent, one orchestrator (a child process with logging on, so the
 * measured path is the full one: correlation ids, pino logs, metrics, auth, body parsing, validation,
 * a Redis GET) and a bare Express server (bench/bare-express.ts) answering the same JSON, loads each
 * with wrk one after the other, and prints req/s, p50 and p99 and the throughput ratio.
 *
 * Env: BENCH_DURATION (seconds per measured run, default 5), BENCH_ROUNDS (interleaved rounds, default 5),
 * BENCH_WARMUP (seconds, default 3),
 * BENCH_CONNECTIONS (default 50), BENCH_THREADS (default 1), BENCH_NODE_ARGS (extra node flags for the
 * orchestrator children, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof"), BENCH_KEEP_LOGS=1 (orchestrator
 * logs to .bench/*.log instead of /dev/null), BENCH_STRICT=1 (exit 2 when a goal is missed).
 * Requires `wrk` (apt-get install -y wrk) and `redis-server`. Only ever talks to 127.0.0.1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startRedis, type RedisServer } from '../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../harness/test-agent.ts';
import { CLK_TCK, machineBusyTicks, median, processTicks } from './lib/measure.ts';
import { runWrk, writePostScript } from './lib/wrk.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT_DIR = path.join(ROOT, '.bench');
const HOST = '127.0.0.1';
const API_KEY = 'bench-api-key-0123456789abcdef';

const seconds = (name: string, def: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const m = /^(\d+)s?$/.exec(raw.trim());
  if (!m || Number(m[1]) < 1) throw new Error(`${name} must be a whole number of seconds >= 1 (got ${raw})`);
  return Number(m[1]);
};
const count = (name: string, def: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1)
    throw new Error(`${name} must be a positive integer (got ${raw})`);
  return Number(raw);
};

const DURATION_S = seconds('BENCH_DURATION', 5);
const WARMUP_S = seconds('BENCH_WARMUP', 3);
const ROUNDS = Math.max(1, Math.round(seconds('BENCH_ROUNDS', 5)));
const CONNECTIONS = count('BENCH_CONNECTIONS', 50);
const THREADS = count('BENCH_THREADS', 1);
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const KEEP_LOGS = process.env.BENCH_KEEP_LOGS === '1';
const STRICT = process.env.BENCH_STRICT === '1';

const IDLE_CONNECTIONS = 1000;
const THROUGHPUT_GOAL = 0.6;
const RSS_GOAL_MIB = 150;
/** Above this, CPU used by processes this bench did not start is reported as disturbing the run. */
const OTHERS_WARN_CORES = 0.1;

/** CPUs this process may run on, from `taskset -p -c` ("pid 1's current affinity list: 0-3,6"). */
function affinity(): number[] | undefined {
  try {
    const out = execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' });
    const list = out.slice(out.lastIndexOf(':') + 1).trim();
    return list.split(',').flatMap((part) => {
      const [a, b] = part.split('-').map(Number);
      return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
    });
  } catch {
    return undefined;
  }
}

/**
 * CPU pinning: with two or more CPUs and taskset, the server under test (bare Express, then the
 * orchestrator) runs alone on the last CPU and everything else this bench starts (wrk, Redis, the test
 * agent, this script) on the others. So each server gets one core of its own, and the scheduler cannot
 * move Redis or wrk onto it mid-run. BENCH_PIN=0 turns it off.
 */
const CPUS = process.env.BENCH_PIN === '0' ? undefined : affinity();
const PIN =
  CPUS !== undefined && CPUS.length >= 2 ? { server: CPUS.at(-1)!, load: CPUS.slice(0, -1) } : undefined;

/** The command that runs a node script for a server under test, on its own CPU when pinning. */
function serverCommand(args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(PIN.server), process.execPath, ...args]] : [process.execPath, args];
}

/** The task every request sends: a cacheable action of the test agent, so after one MISS all are HITs. */
const TASK = {
  agent: 'git',
  action: 'echo',
  input: { repo: 'phoenix-orch', ref: 'main', path: 'services/orchestrator/app.ts', lines: [1, 40] },
};
const TASK_BODY = JSON.stringify(TASK);
const TASK_HEADERS = { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` };

// ---------------------------------------------------------------------------------------------------
// Process bookkeeping: everything started here is stopped on every way out, within bounded time.

const children = new Set<ChildProcess>();
const idleSockets = new Set<net.Socket>();
let redis: RedisServer | undefined;
let agent: TestAgent | undefined;
let tmpDir: string | undefined;

class BenchFailure extends Error {}

function fail(message: string): never {
  throw new BenchFailure(message);
}

function note(message: string): void {
  process.stdout.write(`  · ${message}\n`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait a little more. */
async function stopChild(child: ChildProcess, graceMs = 8000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited(child).then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await Promise.race([exited(child), sleep(2000)]);
  }
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const s of idleSockets) s.destroy();
    idleSockets.clear();
    await Promise.all([...children].map((c) => stopChild(c)));
    if (agent) await Promise.race([agent.stop().catch(() => undefined), sleep(5000)]);
    if (redis) await Promise.race([redis.close().catch(() => undefined), sleep(5000)]);
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function spawnTracked(
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdout?: 'pipe' | number; stderr?: 'pipe' | number } = {},
): ChildProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', opts.stdout ?? 'pipe', opts.stderr ?? 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', (err) => process.stderr.write(`${name}: ${err.message}\n`));
  return child;
}

// ---------------------------------------------------------------------------------------------------
// Small helpers: HTTP without connection pooling (nothing lingers), RSS, machine description.

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    // agent: false → a fresh connection with `Connection: close`, so no pooled socket stays open.
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: opts.timeoutMs ?? 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function waitHttp(url: string, child: ChildProcess, name: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      fail(`${name} exited early (${child.exitCode ?? child.signalCode})`);
    const ok = await httpRequest(url, { timeoutMs: 1000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  fail(`${name} did not answer ${url} within ${timeoutMs} ms`);
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) fail(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** The redis-server this process started (a direct child), to account for its CPU. */
function findChildPid(comm: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (name === comm && ppid === process.pid) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

/** Cores used during a run by the server, Redis, wrk (reaped children of this process) and everyone else. */
interface CpuUse {
  server: number;
  /** CPU seconds the server used during the run. */
  serverSeconds: number;
  redis: number;
  wrk: number;
  others: number;
}

function cpuMeter(serverPid: number, redisPid: number | undefined) {
  const snap = () => {
    const self = processTicks(process.pid);
    return {
      at: performance.now(),
      machine: machineBusyTicks(),
      server: processTicks(serverPid).own,
      redis: redisPid ? processTicks(redisPid).own : 0,
      self: self.own,
      reaped: self.reaped,
    };
  };
  const start = snap();
  return (): CpuUse => {
    const end = snap();
    const cores = (ticks: number) => ticks / CLK_TCK / ((end.at - start.at) / 1000);
    const server = end.server - start.server;
    const redisTicks = end.redis - start.redis;
    const wrk = end.reaped - start.reaped;
    const others = end.machine - start.machine - server - redisTicks - wrk - (end.self - start.self);
    return {
      server: cores(server),
      serverSeconds: server / CLK_TCK,
      redis: cores(redisTicks),
      wrk: cores(wrk),
      others: Math.max(0, cores(others)),
    };
  };
}

function machine(): string[] {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  let wrkVersion = 'wrk';
  try {
    wrkVersion = execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // wrk --version prints its banner and exits 1.
    const out = (err as { stdout?: string; code?: string }).stdout;
    if ((err as { code?: string }).code === 'ENOENT') fail('wrk is not installed (apt-get install -y wrk)');
    wrkVersion = out ?? wrkVersion;
  }
  return [
    `CPU:    ${model}`,
    `Cores:  ${os.cpus().length} (logical)`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS:     ${os.type()} ${os.release()} ${os.arch()}`,
    `Node:   ${process.version}`,
    `wrk:    ${wrkVersion.split('\n')[0]!.split(' Copyright')[0]!.trim()}`,
  ];
}

// ---------------------------------------------------------------------------------------------------
// The servers under test.

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
}

async function startOrchestratorChild(label: string, extraEnv: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const logPath = path.join(OUT_DIR, `orchestrator-${label}.log`);
  const stdout = fs.openSync(KEEP_LOGS ? logPath : '/dev/null', 'w');
  const stderrPath = path.join(OUT_DIR, `orchestrator-${label}.stderr.log`);
  const stderr = fs.openSync(stderrPath, 'w');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST,
    API_KEYS: API_KEY,
    REDIS_URL: redis!.url,
    AGENT_GIT_URL: agent!.url,
    // Logging stays on: one JSON line per request is part of the path being measured.
    LOG_LEVEL: 'info',
    INSTANCE_ID: `bench-${label}`,
    // No load balancer to drain from here; stop at once on SIGTERM.
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...extraEnv,
  };
  const child = spawnTracked(
    `orchestrator-${label}`,
    ...serverCommand([...NODE_ARGS, 'services/orchestrator/main.ts']),
    { env, stdout, stderr },
  );
  fs.closeSync(stdout);
  fs.closeSync(stderr);
  const url = `http://${HOST}:${port}`;
  try {
    await waitHttp(`${url}/health/live`, child, `orchestrator (${label})`);
  } catch (err) {
    const tail = fs.readFileSync(stderrPath, 'utf8').trim().split('\n').slice(-10).join('\n');
    throw new BenchFailure(`${(err as Error).message}${tail ? `; its stderr ends:\n${tail}` : ''}`);
  }
  return { name: 'orchestrator', child, port, url };
}

async function startBareExpress(bodyFile: string): Promise<Server> {
  const port = await freePort();
  const stderr = fs.openSync(path.join(OUT_DIR, 'bare-express.stderr.log'), 'w');
  const child = spawnTracked('bare-express', ...serverCommand(['bench/bare-express.ts']), {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), HOST, BODY_FILE: bodyFile },
    stdout: fs.openSync('/dev/null', 'w'),
    stderr,
  });
  fs.closeSync(stderr);
  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) fail(`bare-express exited early (${child.exitCode})`);
    const ok = await httpRequest(`${url}/v1/tasks`, {
      method: 'POST',
      headers: TASK_HEADERS,
      body: TASK_BODY,
    })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) fail('bare-express did not start');
    await sleep(100);
  }
  return { name: 'bare Express', child, port, url };
}

async function postTask(server: Server): Promise<HttpAnswer> {
  return httpRequest(`${server.url}/v1/tasks`, { method: 'POST', headers: TASK_HEADERS, body: TASK_BODY });
}

// ---------------------------------------------------------------------------------------------------
// wrk.

interface WrkResult {
  requests: number;
  /** Wall time of the run as wrk reports it. */
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  raw: string;
  cpu?: CpuUse;
}

/** Several runs of one server as one result: totals for counts, medians for latency percentiles. */
function combine(runs: WrkResult[]): WrkResult {
  const sum = (f: (r: WrkResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  const requests = sum((r) => r.requests);
  const seconds = sum((r) => r.seconds);
  const cpus = runs.map((r) => r.cpu).filter((c): c is CpuUse => c !== undefined);
  const meanCpu = (f: (c: CpuUse) => number) => cpus.reduce((a, c) => a + f(c), 0) / cpus.length;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    non2xx: sum((r) => r.non2xx),
    socketErrors: {
      connect: sum((r) => r.socketErrors.connect),
      read: sum((r) => r.socketErrors.read),
      write: sum((r) => r.socketErrors.write),
      timeout: sum((r) => r.socketErrors.timeout),
    },
    raw: runs.map((r) => r.raw).join('\n'),
    ...(cpus.length
      ? {
          cpu: {
            server: meanCpu((c) => c.server),
            serverSeconds: cpus.reduce((a, c) => a + c.serverSeconds, 0),
            redis: meanCpu((c) => c.redis),
            wrk: meanCpu((c) => c.wrk),
            others: meanCpu((c) => c.others),
          },
        }
      : {}),
  };
}

function writeWrkScript(dir: string): string {
  return writePostScript(path.join(dir, 'post-task.lua'), TASK_BODY, { Authorization: `Bearer ${API_KEY}` });
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 };

function toMs(value: string, unit: string): number {
  const scale = UNIT_MS[unit];
  if (scale === undefined) fail(`unknown wrk time unit "${unit}"`);
  return Number(value) * scale;
}

function parseWrk(raw: string): WrkResult {
  const num = (re: RegExp, what: string) => {
    const m = re.exec(raw);
    if (!m) fail(`could not find ${what} in wrk output:\n${raw}`);
    return m;
  };
  const percentile = (p: string) => {
    const m = num(new RegExp(`^\\s*${p}%\\s+([\\d.]+)([a-z]+)\\s*$`, 'm'), `the ${p}th percentile`);
    return toMs(m[1]!, m[2]!);
  };
  const total = num(/^\s*(\d+) requests in ([\d.]+)([a-z]+)/m, 'the request count');
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests: Number(total[1]),
    seconds: toMs(total[2]!, total[3]!) / 1000,
    rps: Number(num(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(raw)?.[1] ?? 0),
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    raw,
  };
}

async function measuredWrk(
  url: string,
  script: string,
  durationS: number,
  measure?: { serverPid: number; redisPid: number | undefined },
): Promise<WrkResult> {
  const meter = measure ? cpuMeter(measure.serverPid, measure.redisPid) : undefined;
  const track = (child: ChildProcess) => {
    children.add(child);
    child.once('exit', () => children.delete(child));
  };
  const stdout = await runWrk({
    url,
    script,
    seconds: durationS,
    connections: CONNECTIONS,
    threads: THREADS,
    track,
  }).catch((err: Error) => fail(err.message));
  const cpu = meter?.();
  return { ...parseWrk(stdout), ...(cpu ? { cpu } : {}) };
}

// ---------------------------------------------------------------------------------------------------
// Metrics: proof that the orchestrator's load was all cache HITs.

async function cacheLookups(server: Server): Promise<Record<string, number>> {
  const res = await httpRequest(`${server.url}/metrics`);
  if (res.status !== 200) fail(`GET /metrics answered ${res.status}`);
  const out: Record<string, number> = {};
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('orchestrator_cache_lookups_total{') || !line.includes('pool="git"')) continue;
    const result = /result="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (result) out[result] = (out[result] ?? 0) + value;
  }
  return out;
}

async function gauge(server: Server, name: string): Promise<number | undefined> {
  const res = await httpRequest(`${server.url}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// ---------------------------------------------------------------------------------------------------
// Idle keep-alive connections.

/** One TCP connection that sends GET /health/live with keep-alive, reads the answer, then stays open idle. */
function openIdleConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('idle connection: no answer within 5 s'));
    }, 5000);
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      socket.write(`GET /health/live HTTP/1.1\r\nHost: ${HOST}:${port}\r\nConnection: keep-alive\r\n\r\n`);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(received.slice(0, end))?.[1] ?? 0);
      if (received.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      const statusLine = received.slice(0, received.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 200 /.test(statusLine)) {
        socket.destroy();
        reject(new Error(`idle connection: ${statusLine}`));
        return;
      }
      if (/\r\nconnection:\s*close/i.test(received.slice(0, end))) {
        socket.destroy();
        reject(new Error('idle connection: the server answered Connection: close'));
        return;
      }
      resolve(socket);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Output.

const fmtMs = (ms: number) => (ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`);
const pad = (s: string, n: number) => s.padStart(n);

/** Server CPU time per answered request, in microseconds (robust to other load on the machine). */
const cpuPerRequestUs = (r: WrkResult) =>
  r.cpu && r.requests > 0 ? (r.cpu.serverSeconds * 1e6) / r.requests : undefined;

function table(bare: WrkResult, orch: WrkResult, roundRatios: number[]): string[] {
  const ratio = median(roundRatios);
  const rows = [
    ['', 'req/s', 'p50', 'p99', 'non-2xx'],
    ['bare Express 5', bare.rps.toFixed(0), fmtMs(bare.p50Ms), fmtMs(bare.p99Ms), String(bare.non2xx)],
    ['orchestrator HIT', orch.rps.toFixed(0), fmtMs(orch.p50Ms), fmtMs(orch.p99Ms), String(orch.non2xx)],
  ];
  const widths = [18, 10, 11, 11, 9, 16];
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : pad(c, widths[i]!))).join('');
  const lines = rows.map(line);
  lines.splice(1, 0, '-'.repeat(widths.slice(0, 5).reduce((a, b) => a + b, 0)));
  lines.push(
    '',
    `per-round throughput ratios: ${roundRatios.map((r) => `${(r * 100).toFixed(1)}%`).join(', ')}`,
    `throughput ratio (median of rounds): orchestrator HIT = ${(ratio * 100).toFixed(1)}% of bare Express ` +
      `(goal >= ${THROUGHPUT_GOAL * 100}%): ${ratio >= THROUGHPUT_GOAL ? 'MET' : 'NOT MET'}`,
    '',
    `CPU during the measured runs, in cores of ${os.cpus().length} (others = processes this bench did not start):`,
    line(['', 'server', 'redis', 'wrk', 'others', 'server CPU/req']),
  );
  for (const [name, r] of [
    ['bare Express 5', bare],
    ['orchestrator HIT', orch],
  ] as const) {
    const c = r.cpu;
    const us = cpuPerRequestUs(r);
    if (c)
      lines.push(
        line([
          name,
          ...[c.server, c.redis, c.wrk, c.others].map((v) => v.toFixed(2)),
          us === undefined ? '-' : `${us.toFixed(0)} us`,
        ]),
      );
  }
  const bareUs = cpuPerRequestUs(bare);
  const orchUs = cpuPerRequestUs(orch);
  if (bareUs !== undefined && orchUs !== undefined)
    lines.push(
      `CPU-per-request ratio: bare / orchestrator = ${((bareUs / orchUs) * 100).toFixed(1)}% ` +
        '(the throughput ratio if each server were limited only by its own core)',
    );
  return lines;
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = Date.now();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-bench-'));

  console.log('phoenix-orch benchmark: orchestrator cache HIT vs bare Express 5\n');
  for (const line of machine()) console.log(line);
  console.log(
    `Load:   wrk -t${THREADS} -c${CONNECTIONS}, ${WARMUP_S} s warm-up, then ${ROUNDS} interleaved rounds of ` +
      `${DURATION_S} s per server, ` +
      `POST /v1/tasks (${Buffer.byteLength(TASK_BODY)} B JSON), 127.0.0.1`,
  );
  if (PIN) {
    // Children started from here on (Redis, wrk) inherit this process's CPUs.
    execFileSync('taskset', ['-a', '-p', '-c', PIN.load.join(','), String(process.pid)], { stdio: 'ignore' });
    console.log(
      `Pinning: server under test on CPU ${PIN.server}; wrk, Redis, test agent and this script on CPU ` +
        `${PIN.load.join(',')} (BENCH_PIN=0 to turn off)`,
    );
  } else {
    console.log('Pinning: off (needs taskset and 2+ CPUs, or BENCH_PIN=0 was set)');
  }
  console.log();

  redis = await startRedis();
  const redisPid = findChildPid('redis-server');
  note(`redis-server (pid ${redisPid ?? '?'}) on ${redis.url}`);
  agent = await startTestAgent({ redisUrl: redis.url });
  note(`test agent on ${agent.url}`);

  const orch = await startOrchestratorChild('hit');
  note(`orchestrator (pid ${orch.child.pid}) on ${orch.url}, LOG_LEVEL=info`);

  // Warm the cache: the first answer computes (MISS), the next must come from Redis.
  const first = await postTask(orch);
  if (first.status !== 200) fail(`warm-up POST /v1/tasks answered ${first.status}: ${first.body}`);
  const hit = await postTask(orch);
  if (hit.status !== 200) fail(`second POST /v1/tasks answered ${hit.status}: ${hit.body}`);
  if (hit.headers['x-cache'] !== 'HIT') fail(`expected X-Cache: HIT, got ${String(hit.headers['x-cache'])}`);
  if (agent.calls('echo') !== 1) fail(`expected exactly one agent call, saw ${agent.calls('echo')}`);
  note(`cache warm: first answer X-Cache ${String(first.headers['x-cache'])}, next X-Cache HIT`);
  note(`HIT body (${Buffer.byteLength(hit.body)} B): ${hit.body}`);

  const bodyFile = path.join(tmpDir, 'hit-body.json');
  fs.writeFileSync(bodyFile, hit.body);
  const bare = await startBareExpress(bodyFile);
  const bareAnswer = await postTask(bare);
  if (bareAnswer.body !== hit.body) fail(`bare Express answers ${bareAnswer.body}, not ${hit.body}`);
  note(`bare Express (pid ${bare.child.pid}) on ${bare.url}, same body`);

  const script = writeWrkScript(tmpDir);

  note(`bare Express: warm-up ${WARMUP_S} s`);
  await measuredWrk(`${bare.url}/v1/tasks`, script, WARMUP_S);
  note(`orchestrator: warm-up ${WARMUP_S} s`);
  const orchWarm = await measuredWrk(`${orch.url}/v1/tasks`, script, WARMUP_S);
  if (orchWarm.non2xx > 0) fail(`orchestrator warm-up: ${orchWarm.non2xx} non-2xx responses`);

  // Interleaved rounds (bare, orchestrator, bare, ...): this machine's speed drifts by tens of percent
  // from one minute to the next, so each round's ratio compares runs made seconds apart, and the
  // verdict is the median of the rounds' ratios.
  const before = await cacheLookups(orch);
  const bareRuns: WrkResult[] = [];
  const orchRuns: WrkResult[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    note(`round ${round}/${ROUNDS}: bare Express ${DURATION_S} s, then orchestrator ${DURATION_S} s`);
    bareRuns.push(
      await measuredWrk(`${bare.url}/v1/tasks`, script, DURATION_S, { serverPid: bare.child.pid!, redisPid }),
    );
    orchRuns.push(
      await measuredWrk(`${orch.url}/v1/tasks`, script, DURATION_S, { serverPid: orch.child.pid!, redisPid }),
    );
  }
  const after = await cacheLookups(orch);
  await stopChild(bare.child);
  const bareResult = combine(bareRuns);
  const orchResult = combine(orchRuns);
  fs.writeFileSync(path.join(OUT_DIR, 'wrk-bare-express.txt'), bareResult.raw);
  fs.writeFileSync(path.join(OUT_DIR, 'wrk-orchestrator-hit.txt'), orchResult.raw);
  const roundRatios = orchRuns.map((o, i) => o.rps / bareRuns[i]!.rps);

  if (orchResult.non2xx > 0) {
    fail(
      `the orchestrator answered ${orchResult.non2xx} non-2xx responses under load: ` +
        'this run measured errors, not cache HITs (see .bench/orchestrator-hit.stderr.log)',
    );
  }
  const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  const notHits = Object.keys(after)
    .filter((k) => k !== 'hit')
    .reduce((sum, k) => sum + delta(k), 0);
  if (notHits > 0)
    fail(`${notHits} cache lookups during the measured run were not HITs: ${JSON.stringify(after)}`);
  if (delta('hit') < orchResult.requests)
    fail(`only ${delta('hit')} HITs counted for ${orchResult.requests} requests`);
  if (agent.calls('echo') !== 1) fail(`the agent was called during the run (${agent.calls('echo')} calls)`);
  note(`verified: ${delta('hit')} cache HITs, 0 misses, no agent calls during the measured runs`);
  const socketErrors = Object.values(orchResult.socketErrors).reduce((a, b) => a + b, 0);
  if (socketErrors > 0)
    note(`warning: wrk socket errors on the orchestrator: ${JSON.stringify(orchResult.socketErrors)}`);
  await stopChild(orch.child);

  // Memory: a fresh orchestrator holding IDLE_CONNECTIONS idle keep-alive connections.
  // MAX_CONNECTIONS defaults to 1000 (services/kit/config.ts), which the idle connections alone fill.
  // This bench's own probes need connections on top: the GET /metrics that confirms the server-side
  // count and, afterwards, wrk's CONNECTIONS for the informative "after load" reading. At the default
  // cap they would be refused (503 too-many-connections); 1100 leaves them room and changes nothing
  // about what the idle connections cost.
  const mem = await startOrchestratorChild('memory', { MAX_CONNECTIONS: '1100' });
  const warm = await postTask(mem);
  if (warm.status !== 200 || warm.headers['x-cache'] !== 'HIT')
    fail(`memory orchestrator: expected a HIT, got ${warm.status} ${String(warm.headers['x-cache'])}`);
  note(`memory: fresh orchestrator (pid ${mem.child.pid}) with MAX_CONNECTIONS=1100, one HIT served`);
  await sleep(1000);
  const rssBefore = rssMiB(mem.child.pid!);

  const BATCH = 100;
  for (let i = 0; i < IDLE_CONNECTIONS; i += BATCH) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(BATCH, IDLE_CONNECTIONS - i) }, () => openIdleConnection(mem.port)),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') idleSockets.add(r.value);
      else fail(`opening idle connection #${idleSockets.size + 1}: ${(r.reason as Error).message}`);
    }
  }
  await sleep(1000);
  const serverSide = await gauge(mem, 'orchestrator_open_connections');
  const rssAfter = rssMiB(mem.child.pid!);
  const open = () => [...idleSockets].filter((s) => !s.destroyed && s.readyState === 'open').length;
  if (open() !== IDLE_CONNECTIONS) fail(`only ${open()} of ${IDLE_CONNECTIONS} idle connections stayed open`);
  note(
    `memory: ${IDLE_CONNECTIONS} idle keep-alive connections open; orchestrator_open_connections = ` +
      `${serverSide} (includes the scrape itself)`,
  );

  // Informative: the same instance after serving HIT load, the idle connections still open. V8 sizes
  // its heap (above all the young generation) to the allocation rate and keeps it afterwards.
  note(`memory: ${WARMUP_S} s of HIT load with the idle connections still open`);
  const memLoad = await measuredWrk(`${mem.url}/v1/tasks`, script, WARMUP_S);
  if (memLoad.non2xx > 0) fail(`memory step: ${memLoad.non2xx} non-2xx responses under load`);
  await sleep(1000);
  const rssLoaded = rssMiB(mem.child.pid!);
  const openAfterLoad = open();
  for (const s of idleSockets) s.destroy();
  idleSockets.clear();

  const tableLines = table(bareResult, orchResult, roundRatios);
  for (const [name, r] of [
    ['bare Express', bareResult],
    ['orchestrator', orchResult],
  ] as const) {
    if (r.cpu && r.cpu.others > OTHERS_WARN_CORES)
      tableLines.push(
        `WARNING: other processes on this machine used ${r.cpu.others.toFixed(2)} cores during the ${name} run; ` +
          'its numbers are disturbed (re-run on a quiet machine).',
      );
  }
  const growth = rssAfter - rssBefore;
  const memLines = [
    `orchestrator RSS, fresh, no client connections:      ${rssBefore.toFixed(1)} MiB`,
    `orchestrator RSS, ${IDLE_CONNECTIONS} idle keep-alive connections:   ${rssAfter.toFixed(1)} MiB ` +
      `(+${growth.toFixed(1)} MiB, ~${((growth * 1024) / IDLE_CONNECTIONS).toFixed(1)} KiB per connection)`,
    `goal < ${RSS_GOAL_MIB} MiB with ${IDLE_CONNECTIONS} idle connections: ${rssAfter < RSS_GOAL_MIB ? 'MET' : 'NOT MET'}`,
    `(same instance after ${WARMUP_S} s of HIT load at ${memLoad.rps.toFixed(0)} req/s, ${openAfterLoad} idle ` +
      `connections still open: ${rssLoaded.toFixed(1)} MiB)`,
  ];
  console.log();
  console.log('Results');
  console.log('=======');
  for (const line of tableLines) console.log(line);
  console.log();
  for (const line of memLines) console.log(line);
  console.log();
  console.log(
    `(wrk output in .bench/wrk-*.txt; finished in ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );

  const goalsMet = median(roundRatios) >= THROUGHPUT_GOAL && rssAfter < RSS_GOAL_MIB;
  return STRICT && !goalsMet ? 2 : 0;
}

// A hard bound on the whole run, so the script always ends by itself.
const HARD_LIMIT_MS = (3 * (WARMUP_S + DURATION_S) + 90) * 1000;
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${HARD_LIMIT_MS / 1000} s; stopping\n`);
  for (const c of children) c.kill('SIGKILL');
  void Promise.race([cleanup(), sleep(5000)]).finally(() => process.exit(1));
}, HARD_LIMIT_MS);
watchdog.unref();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}; stopping\n`);
    void Promise.race([cleanup(), sleep(15000)]).finally(() => process.exit(130));
  });
}

let exitCode: number;
try {
  exitCode = await main();
} catch (err) {
  // After a signal, children dying under us is expected; the signal handler has said why we stop.
  if (!cleaning)
    process.stderr.write(
      `\nbench FAILED: ${err instanceof BenchFailure ? err.message : String((err as Error)?.stack ?? err)}\n`,
    );
  exitCode = 1;
} finally {
  await Promise.race([cleanup(), sleep(20000)]);
}
process.exit(exitCode);
