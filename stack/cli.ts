/**
 * `npm run stack -- <verb>`: the local stack, the seed's whole topology as processes on 127.0.0.1.
 *
 *   up [--drill]           start everything in dependency order, wait until healthy, return
 *   down                   stop everything gracefully (idempotent)
 *   status [--json]        what runs where; --json for scripts
 *   kill NAME [--signal S] send a signal (default SIGKILL) to one process
 *   restart NAME [--set K=V]   stop gracefully (if running) and start again; --set overrides one
 *                          environment variable for this start only (e.g. CPU_LIMIT for a drill)
 *   pause NAME / resume NAME   SIGSTOP / SIGCONT
 *   drain NAME / undrain NAME  an orchestrator at the load balancer (runtime API)
 *   failover               ask the Sentinels to fail the Redis primary over
 *   reload NAME            reload an HAProxy without dropping connections; for the load-balancer,
 *                          wait until the new worker serves with the whole stick table
 *   logs NAME [-n LINES]   the end of one process's log
 *   alerts drill|normal    load the drill (fast) or the normal alert rules into Prometheus
 *
 * NAME is a process name from `status` (orchestrator-2, redis-1, ...) or `redis-primary`.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, layout, loadOptions, type Layout } from './layout.ts';
import { prepare, writePrometheusConfig } from './local-configs.ts';
import { processSpecs } from './topology.ts';
import { stackStatus } from './status.ts';
import {
  isRunning,
  ownerAlive,
  ownerFromEnv,
  readState,
  sameOwner,
  startedHere,
  spawnDetached,
  stopProcess,
  tail,
  waitHealthy,
  withLock,
  writeState,
  type RunningProcess,
  type StackState,
} from './supervisor.ts';
import {
  backendServers,
  failover,
  haproxyCommand,
  redisRole,
  reloadLoadBalancer,
  sentinelPrimary,
  waitSentinelTopology,
} from './control.ts';

const START_TIMEOUT_MS = 60000;

class UsageError extends Error {}

function say(msg: string): void {
  process.stderr.write(`stack: ${msg}\n`);
}

function recordFault(l: Layout, verb: string, target: string, detail: Record<string, unknown> = {}): void {
  mkdirSync(l.logs, { recursive: true });
  appendFileSync(
    l.faultLog,
    JSON.stringify({ time: new Date().toISOString(), verb, target, ...detail }) + '\n',
  );
}

/**
 * Idempotent for the owner that started the stack (or by hand, without PHOENIX_STACK_OWNER). A stack
 * folder left by another owner that is gone (a killed test run) is cleaned first: its processes stopped
 * and its files removed, so the stack starts from nothing instead of colliding on its own ports.
 */
async function up(l: Layout, drill: boolean): Promise<void> {
  const owner = ownerFromEnv();
  let state = readState(l);
  if (state && !sameOwner(state.owner, owner)) {
    if (state.owner && ownerAlive(state.owner)) {
      throw new Error(`the stack in ${l.dir} belongs to running process ${state.owner.pid}; stop it first`);
    }
    await cleanLeftovers(l, state);
    state = undefined;
  }
  prepare(l, drill);
  const specs = processSpecs(l);
  state ??= { startedAt: new Date().toISOString(), ...(owner ? { owner } : {}), processes: {} };
  const stages = [...new Set(specs.map((s) => s.stage))];
  let started = 0;
  for (const stage of stages) {
    const starting: RunningProcess[] = [];
    for (const spec of specs.filter((s) => s.stage === stage)) {
      const known = state.processes[spec.name];
      if (known && isRunning(known.pid, known.command)) continue;
      const p = spawnDetached(l, spec);
      state.processes[spec.name] = p;
      // Recorded at once: an `up` killed from here on leaves nothing the next one cannot find.
      writeState(l, state);
      starting.push(p);
    }
    started += starting.length;
    await Promise.all(starting.map((p) => waitHealthy(p, START_TIMEOUT_MS)));
    if (stage === 3) await waitSentinelTopology(l, 30000);
  }
  await waitLoadBalancerReady(l, START_TIMEOUT_MS);
  say(started === 0 ? 'already up' : `up: ${started} processes started`);
}

/** Up means every orchestrator is in rotation and a request through TLS reaches one. */
async function waitLoadBalancerReady(l: Layout, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let servers: Awaited<ReturnType<typeof backendServers>> = [];
  while (Date.now() < deadline) {
    servers = await backendServers(l).catch(() => []);
    if (servers.length === l.ports.orchestrator.length && servers.every((s) => s.operational === 2)) return;
    await sleep(100);
  }
  throw new Error(
    `the load balancer does not have every orchestrator up: ${JSON.stringify(servers)}; ` +
      `its log is ${l.logs}/load-balancer.log`,
  );
}

/** Stops `processes`, last stage first; returns the names that had to be SIGKILLed. */
async function stopAll(processes: RunningProcess[]): Promise<string[]> {
  const byStage = [...processes].sort((a, b) => b.stage - a.stage);
  const killed: string[] = [];
  for (const stage of new Set(byStage.map((p) => p.stage))) {
    const results = await Promise.all(
      byStage.filter((p) => p.stage === stage).map(async (p) => [p.name, await stopProcess(p)] as const),
    );
    for (const [name, graceful] of results) if (!graceful) killed.push(name);
  }
  return killed;
}

async function down(l: Layout): Promise<void> {
  const state = readState(l);
  if (!state || Object.keys(state.processes).length === 0) {
    say('already down');
    return;
  }
  const killed = await stopAll(Object.values(state.processes));
  writeState(l, { ...state, processes: {} });
  say(killed.length ? `down (had to SIGKILL: ${killed.join(', ')})` : 'down');
}

/** Stops what a previous owner's stack left running here (only processes this folder started) and removes its files. */
async function cleanLeftovers(l: Layout, state: StackState): Promise<void> {
  const left = Object.values(state.processes).filter((p) => startedHere(p, l));
  const who = state.owner ? `process ${state.owner.pid}, gone` : 'no owner';
  say(`the stack in ${l.dir} was left by another run (${who}): stopping ${left.length} of its processes`);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGCONT'); // a paused process cannot shut down
    } catch {
      /* gone meanwhile */
    }
  }
  await stopAll(left);
  for (const dir of [l.conf, l.data, l.logs]) rmSync(dir, { recursive: true, force: true });
  // The run folder holds this command's lock: everything else in it goes.
  for (const name of existsSync(l.run) ? readdirSync(l.run) : []) {
    const file = path.join(l.run, name);
    if (file !== l.lockFile) rmSync(file, { recursive: true, force: true });
  }
}

function find(l: Layout, state: StackState | undefined, name: string): RunningProcess {
  const p = state?.processes[name];
  if (!p) {
    const known = Object.keys(state?.processes ?? {}).join(', ') || 'none (is the stack up?)';
    throw new UsageError(`no process named ${name}; known: ${known}`);
  }
  return p;
}

/** `redis-primary` names whichever Redis the Sentinels call primary now. */
async function resolveName(l: Layout, state: StackState | undefined, name: string): Promise<string> {
  if (name !== 'redis-primary') return name;
  const port = await sentinelPrimary(l);
  const p = Object.values(state?.processes ?? {}).find((x) => x.role === 'redis' && x.port === port);
  if (!p) throw new Error('no Sentinel names a primary');
  return p.name;
}

async function restart(l: Layout, name: string, overrides: Record<string, string> = {}): Promise<void> {
  const state = readState(l);
  const old = find(l, state, name);
  if (isRunning(old.pid, old.command)) {
    try {
      process.kill(old.pid, 'SIGCONT'); // a paused process cannot shut down
    } catch {
      /* gone */
    }
    await stopProcess(old);
  }
  const { pid: _pid, log: _log, startedAt: _at, ...spec } = old;
  // Start from the topology's definition, so overrides from an earlier restart do not stick.
  const base = processSpecs(l).find((s) => s.name === name) ?? spec;
  const p = spawnDetached(l, { ...base, env: { ...base.env, ...overrides } });
  state!.processes[name] = p;
  writeState(l, state!);
  await waitHealthy(p, START_TIMEOUT_MS);
  recordFault(l, 'restart', name, {
    pid: p.pid,
    ...(Object.keys(overrides).length ? { set: overrides } : {}),
  });
  say(`${name} restarted (pid ${p.pid})`);
}

function signal(l: Layout, name: string, sig: NodeJS.Signals, verb: string): void {
  const p = find(l, readState(l), name);
  if (!isRunning(p.pid, p.command)) throw new Error(`${name} is not running`);
  process.kill(p.pid, sig);
  recordFault(l, verb, name, { signal: sig, pid: p.pid });
  say(`${verb} ${name} (pid ${p.pid}, ${sig})`);
}

async function drain(l: Layout, name: string, on: boolean): Promise<void> {
  const p = find(l, readState(l), name);
  if (p.role !== 'orchestrator') throw new UsageError(`${name} is not an orchestrator`);
  const out = await haproxyCommand(l, `set server orchestrators/${name} state ${on ? 'drain' : 'ready'}`);
  if (out !== '') throw new Error(`HAProxy refused: ${out}`);
  recordFault(l, on ? 'drain' : 'undrain', name);
  say(`${name} ${on ? 'drained: no new requests' : 'back in rotation'}`);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      drill: { type: 'boolean', default: false },
      signal: { type: 'string', default: 'SIGKILL' },
      n: { type: 'string', short: 'n', default: '50' },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const [verb, rawName] = positionals;
  const l = layout(loadOptions());
  const needName = async () => {
    if (!rawName) throw new UsageError(`${verb} needs a process name`);
    return resolveName(l, readState(l), rawName);
  };
  switch (verb) {
    case 'up':
      await withLock(l, () => up(l, values.drill));
      return 0;
    case 'down':
      await withLock(l, () => down(l));
      return 0;
    case 'status': {
      const s = await stackStatus(l);
      if (values.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      } else {
        for (const p of s.processes) {
          const state = p.healthy ? 'healthy' : p.running ? 'UNHEALTHY' : 'DOWN';
          process.stdout.write(`${p.name.padEnd(20)} ${p.role.padEnd(16)} :${p.port}  ${state}\n`);
        }
        process.stdout.write(
          `\nload balancer ${s.lb}   Prometheus ${s.prometheus}   Redis primary ${s.redis_primary}\n`,
        );
      }
      return s.up ? 0 : 1;
    }
    case 'kill': {
      const sig = values.signal.toUpperCase();
      const name = sig.startsWith('SIG') ? sig : `SIG${sig}`;
      signal(l, await needName(), name as NodeJS.Signals, 'kill');
      return 0;
    }
    case 'pause':
      signal(l, await needName(), 'SIGSTOP', 'pause');
      return 0;
    case 'resume':
      signal(l, await needName(), 'SIGCONT', 'resume');
      return 0;
    case 'restart': {
      const name = await needName();
      const overrides: Record<string, string> = {};
      for (const kv of values.set) {
        const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
        if (!m) throw new UsageError(`--set wants KEY=VALUE, got ${kv}`);
        overrides[m[1]!] = m[2]!;
      }
      await withLock(l, () => restart(l, name, overrides));
      return 0;
    }
    case 'drain':
    case 'undrain':
      await drain(l, await needName(), verb === 'drain');
      return 0;
    case 'failover': {
      const r = await failover(l);
      recordFault(l, 'failover', 'redis', r);
      say(`failover: primary was :${r.from}, now :${r.to} (${await redisRole(r.to)})`);
      return 0;
    }
    case 'reload': {
      const name = await needName();
      const p = find(l, readState(l), name);
      if (p.command !== 'haproxy') throw new UsageError(`${name} is not an HAProxy`);
      if (p.role !== 'load-balancer') {
        process.kill(p.pid, 'SIGUSR2');
        recordFault(l, 'reload', name);
        say(`${name} reloading`);
        return 0;
      }
      const r = await reloadLoadBalancer(l, p.pid);
      const { signalledAt, ...detail } = r;
      recordFault(l, 'reload', name, { ...detail, time: new Date(signalledAt).toISOString() });
      say(
        `${name} reloaded in ${r.tookMs} ms: worker ${r.newWorker} serves (was ${r.oldWorkers.join(', ')}), ` +
          `stick table ${r.entriesBefore} entries before, ${r.entriesAfter} after`,
      );
      return 0;
    }
    case 'logs': {
      const p = find(l, readState(l), await needName());
      process.stdout.write(tail(p.log, Number(values.n)) + '\n');
      return 0;
    }
    case 'alerts': {
      if (rawName !== 'drill' && rawName !== 'normal') throw new UsageError('alerts drill|normal');
      writePrometheusConfig(l, rawName === 'drill');
      const res = await fetch(`http://${HOST}:${l.ports.prometheus}/-/reload`, { method: 'POST' });
      if (!res.ok) throw new Error(`Prometheus refused the reload: ${res.status} ${await res.text()}`);
      say(`Prometheus now evaluates the ${rawName} rules`);
      return 0;
    }
    default:
      throw new UsageError(`unknown verb ${verb ?? '(none)'}; see the header of stack/cli.ts`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
