import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ORCHESTRATOR } from '../../platform/workloads.ts';
import { API_KEY } from './orchestrator.ts';
import { freePort } from '../../harness/redis-server.ts';

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every JSON log line the process has written so far, parsed, and as written. */
  logs: Array<Record<string, unknown>>;
  lines: string[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** How a service process is started beyond its environment. */
export interface SpawnOptions {
  /** Node options before the entry point, e.g. `--max-old-space-size=256` to bound the heap. */
  nodeArgs?: string[];
  /** A command the process runs under, e.g. `['prlimit', '--as=3221225472', '--']` to bound its memory. */
  wrap?: string[];
  /** How long to wait for `readyMessage` (default 10 s). */
  readyTimeoutMs?: number;
}

/**
 * Runs one service entry point (`services/<name>/main.ts`) as its own process, the way production runs
 * it, on a free loopback port; resolves once it logs `readyMessage`.
 */
export async function spawnService(
  entry: string,
  env: Record<string, string>,
  readyMessage: string,
  opts: SpawnOptions = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const node = [process.execPath, ...(opts.nodeArgs ?? []), entry];
  const command = opts.wrap ? [...opts.wrap, ...node] : node;
  const child = spawn(command[0]!, command.slice(1), {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${entry} exited ${child.exitCode ?? child.signalCode}: ${stderr}`);
    if (logs.some((l) => l.msg === readyMessage)) {
      return { child, port, url, logs, lines, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${entry} did not start: ${stderr}`);
}

/** Runs `node services/orchestrator/main.ts` as its own process. */
export function spawnOrchestrator(env: Record<string, string>): Promise<ServiceProcess> {
  return spawnService(
    ORCHESTRATOR.entry,
    { API_KEYS: API_KEY, AGENT_TIMEOUT_MS: '2000', ...env },
    'orchestrator listening',
  );
}

/**
 * Waits (bounded) until a log line of `proc` matches: services write their logs in batches, up to
 * 200 ms late. Resolves whether it matched.
 */
export async function waitForLog(
  proc: ServiceProcess,
  match: (line: Record<string, unknown>) => boolean,
  timeoutMs = 3000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.logs.some(match)) return true;
    await sleep(25);
  }
  return proc.logs.some(match);
}
