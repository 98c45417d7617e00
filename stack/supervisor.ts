/**
 * Starts, watches and stops the stack's processes. Each runs detached with its output appended to
 * its own log, so the stack outlives the command that started it; what was started (command, pid) is
 * kept in the state file, which is all that `status`, `down` and the fault verbs need.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import type { Layout } from './layout.ts';

export type Health = { type: 'http'; url: string } | { type: 'redis'; port: number } | { type: 'none' };

export interface ProcessSpec {
  name: string;
  role: string;
  port: number;
  /** Start order: every process of one stage is healthy before the next stage starts. */
  stage: number;
  command: string;
  args: string[];
  env?: Record<string, string>;
  health: Health;
  /** The signal that stops it gracefully (HAProxy's soft stop is SIGUSR1). */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}

export interface RunningProcess extends ProcessSpec {
  pid: number;
  log: string;
  startedAt: string;
}

/**
 * The process a stack belongs to (a test run, a benchmark: PHOENIX_STACK_OWNER names its pid), by pid
 * and kernel start time, so a recycled pid is not mistaken for it. Absent: started by hand.
 */
export interface StackOwner {
  pid: number;
  startTime: string;
}

export interface StackState {
  startedAt: string;
  owner?: StackOwner;
  processes: Record<string, RunningProcess>;
}

/** The kernel's start time of `pid` (field 22 of /proc/<pid>/stat), or undefined when it does not exist. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The owner PHOENIX_STACK_OWNER names (a live pid), or undefined when unset. */
export function ownerFromEnv(env: NodeJS.ProcessEnv = process.env): StackOwner | undefined {
  const raw = env['PHOENIX_STACK_OWNER'];
  if (!raw) return undefined;
  const pid = Number(raw);
  const startTime = Number.isInteger(pid) && pid > 0 ? startTimeOf(pid) : undefined;
  if (startTime === undefined) throw new Error(`PHOENIX_STACK_OWNER=${raw} is not a running process`);
  return { pid, startTime };
}

export const ownerAlive = (o: StackOwner) => startTimeOf(o.pid) === o.startTime;
export const sameOwner = (a: StackOwner | undefined, b: StackOwner | undefined) =>
  a?.pid === b?.pid && a?.startTime === b?.startTime;

export function readState(l: Layout): StackState | undefined {
  try {
    return JSON.parse(readFileSync(l.stateFile, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

export function writeState(l: Layout, state: StackState): void {
  mkdirSync(l.run, { recursive: true });
  const tmp = `${l.stateFile}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, l.stateFile);
}

/** True while `pid` is a live process running `command` (a recycled pid running something else is not ours). */
export function isRunning(pid: number, command: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = /^\d+ \((.*)\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (!stat || stat[2] === 'Z') return false; // a zombie has exited
    const program = path.basename(command);
    // The kernel's short name (15 characters) survives what the command line does not: HAProxy's
    // master re-executes itself after start-up, and mid-exec its command line reads as empty.
    if (stat[1] === program.slice(0, 15)) return true;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // Redis rewrites its title ("redis-server 127.0.0.1:6379"), so match the program name within it.
    return argv.some((a) => path.basename(a.split(' ')[0] ?? '') === program);
  } catch {
    return false;
  }
}

/**
 * Whether `p` is still a process this stack folder started: running `p.command` (isRunning) and with
 * its working directory inside the folder (the supervisor starts every process there; Redis moves into
 * its data folder below it). A pid recycled by anything else fails one or the other.
 */
export function startedHere(p: RunningProcess, l: Layout): boolean {
  if (!isRunning(p.pid, p.command)) return false;
  try {
    const cwd = readlinkSync(`/proc/${p.pid}/cwd`);
    const dir = realpathSync(l.dir);
    return cwd === dir || cwd.startsWith(`${dir}${path.sep}`);
  } catch {
    return false;
  }
}

/** One command at a time per stack: `up` racing `down` would leave half a stack. */
export async function withLock<T>(l: Layout, fn: () => Promise<T>): Promise<T> {
  mkdirSync(l.run, { recursive: true });
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fd = openSync(l.lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSync(l.lockFile, 'utf8').trim() || 0);
      if (holder > 0 && holder !== process.pid && isAlive(holder)) {
        if (attempt >= 600) throw new Error(`another stack command (pid ${holder}) holds ${l.lockFile}`);
        await sleep(100);
        continue;
      }
      rmSync(l.lockFile, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(l.lockFile, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function spawnDetached(l: Layout, spec: ProcessSpec): RunningProcess {
  mkdirSync(l.logs, { recursive: true });
  const log = path.join(l.logs, `${spec.name}.log`);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...spec.env },
      cwd: l.dir,
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error(`${spec.name}: ${spec.command} could not be started`);
    return { ...spec, pid: child.pid, log, startedAt: new Date().toISOString() };
  } finally {
    closeSync(fd);
  }
}

export async function checkHealth(h: Health, timeoutMs = 1000): Promise<boolean> {
  if (h.type === 'none') return true;
  if (h.type === 'http') return httpOk(h.url, timeoutMs);
  return redisPing(h.port, timeoutMs);
}

function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** PING over a raw socket: answers +PONG (or -LOADING while a replica syncs, which is not healthy yet). */
function redisPing(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

export async function waitHealthy(p: RunningProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(p.pid, p.command)) {
      throw new Error(`${p.name} exited during start; its log is ${p.log}\n${tail(p.log)}`);
    }
    if (await checkHealth(p.health)) return;
    await sleep(100);
  }
  throw new Error(
    `${p.name} did not become healthy within ${timeoutMs / 1000} s; its log is ${p.log}\n${tail(p.log)}`,
  );
}

export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Sends the stop signal, waits, and SIGKILLs past the bound. Returns false if it had to kill. */
export async function stopProcess(p: RunningProcess, signal?: NodeJS.Signals): Promise<boolean> {
  if (!isRunning(p.pid, p.command)) return true;
  try {
    process.kill(p.pid, signal ?? p.stopSignal ?? 'SIGTERM');
  } catch {
    return true;
  }
  const deadline = Date.now() + (p.stopTimeoutMs ?? 30000);
  while (Date.now() < deadline) {
    if (!isRunning(p.pid, p.command)) return true;
    await sleep(50);
  }
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
  while (isRunning(p.pid, p.command)) await sleep(20);
  return false;
}
