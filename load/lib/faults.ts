/**
 * Injects a scenario's faults into the local stack through the stack CLI's verbs (kill, restart,
 * pause, drain, failover) and the LLM simulators' admin API, records each one (when asked, when done,
 * what it did) in the run's own fault log, and afterwards puts the stack back as it found it.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { POOL_LIST } from '../../platform/pools.ts';
import { PORTS } from '../../platform/ports.ts';
import { LOAD_BALANCER, NAMESPACE, ORCHESTRATOR, REDIS } from '../../platform/workloads.ts';
import { backendServers, sentinelPrimary } from '../../stack/control.ts';
import { layout, loadOptions } from '../../stack/layout.ts';
import { isRunning } from '../../stack/supervisor.ts';
import { faultVerb, type FaultStep } from './scenario-file.ts';
import { stackCli, stackStatus, type StackStatus } from './target.ts';

export interface FaultRecord {
  /**
   * When the fault took effect, ISO time: the stack CLI's own record of the signal or command (its
   * fault log), else when the verb was sent.
   */
  time: string;
  /** When the driver asked for it (the CLI's start-up comes between). */
  asked?: string;
  /** When it had taken effect (the CLI returned), ISO time. */
  done: string;
  /** Scheduled seconds after the first phase started (absent for the restore). */
  at?: number;
  verb: string;
  target: string;
  ok: boolean;
  detail?: string;
  kubectl?: string;
}

const NS = NAMESPACE;
/** Deployments and StatefulSets of kustomize/base, by local role. */
const WORKLOAD: Record<string, string> = {
  orchestrator: ORCHESTRATOR.workload,
  ...Object.fromEntries(POOL_LIST.map((p) => [p.service, p.workload])),
  redis: REDIS.workload,
  'load-balancer': LOAD_BALANCER.workload,
};
const sentinelCli = `redis-cli -p ${PORTS.sentinel} SENTINEL`;

/**
 * Each role's process as a node sees it. The images are distroless (no shell, no kill) and PID 1 of a
 * container ignores SIGSTOP and SIGCONT sent from its own PID namespace, where `kubectl exec` and
 * `kubectl debug --target` run; a node debug pod runs in the host's PID namespace, where it can.
 */
const PROCESS: Record<string, string> = {
  orchestrator: 'dist/services/orchestrator/main.js',
  ...Object.fromEntries(POOL_LIST.map((p) => [p.service, `dist/services/${p.service}/main.js`])),
  redis: 'redis-server',
  sentinel: 'redis-sentinel',
  'load-balancer': 'haproxy',
};

/** What the same fault is on a Kubernetes cluster (documented in load/README.md too). */
export function kubectlEquivalent(step: FaultStep): string {
  const k = `kubectl -n ${NS}`;
  const role = (name: string) => (name === 'redis-primary' ? 'redis' : name.replace(/-\d+$/, ''));
  const pod = (name: string) =>
    name === 'redis-primary'
      ? `$(the primary: ${k} exec redis-0 -c sentinel -- ${sentinelCli} get-master-addr-by-name ${REDIS.masterName})`
      : `<a ${role(name)} pod>`;
  /** A signal to the process from a debug pod on the pod's node (in the host's PID namespace). */
  const fromNode = (name: string, signal: string) =>
    `kubectl debug node/$(${k} get pod ${pod(name)} -o jsonpath={.spec.nodeName}) -n default ` +
    `--profile=sysadmin --image=busybox:1.37 -- pkill -${signal} -f ${PROCESS[role(name)] ?? role(name)}`;
  if ('kill' in step) {
    if (step.kill.startsWith('role:')) {
      return `${k} scale ${WORKLOAD[step.kill.slice(5)] ?? step.kill.slice(5)} --replicas=0`;
    }
    const graceful = (step.signal ?? 'SIGKILL').toUpperCase().endsWith('TERM');
    return graceful
      ? `${k} delete pod ${pod(step.kill)}`
      : `${k} delete pod ${pod(step.kill)} --grace-period=0 --force`;
  }
  if ('restart' in step) {
    return step.restart.startsWith('role:')
      ? `${k} scale ${WORKLOAD[step.restart.slice(5)] ?? step.restart.slice(5)} --replicas=2`
      : '(none: the Deployment or StatefulSet replaces a deleted pod by itself)';
  }
  if ('rolling-restart' in step) {
    return `${k} rollout restart deployment/master-orchestrator && ${k} rollout status deployment/master-orchestrator`;
  }
  if ('failover' in step)
    return `${k} exec redis-0 -c sentinel -- ${sentinelCli} failover ${REDIS.masterName}`;
  if ('pause' in step) return fromNode(step.pause, 'STOP');
  if ('resume' in step) return fromNode(step.resume, 'CONT');
  if ('drain' in step)
    return `${k} delete pod ${pod(step.drain)}   (graceful: readiness turns false, the Service drops it, it drains and exits)`;
  if ('undrain' in step) return '(none: the replacement pod becomes ready)';
  if ('simulator' in step || 'simulator-restore' in step) {
    return '(none: a real provider cannot be told to fail; the LLM router pool is tested against the simulator)';
  }
  return '';
}

interface Simulator {
  name: string;
  url: string;
  original?: unknown;
}

export class FaultRunner {
  readonly records: FaultRecord[] = [];
  /** Killed by this run and not restarted since. */
  private readonly killed = new Set<string>();
  private readonly paused = new Set<string>();
  private readonly drained = new Set<string>();
  private readonly simulators: Simulator[] = [];
  private readonly l = layout(loadOptions());
  private status?: StackStatus;

  private readonly logFile: string;

  constructor(logFile: string) {
    this.logFile = logFile;
  }

  /** Remembers what it will need to restore: the simulators' behaviour. */
  async prepare(status: StackStatus): Promise<void> {
    this.status = status;
    for (const p of status.processes.filter((x) => x.role === 'llm-simulator')) {
      const url = `http://127.0.0.1:${p.port}`;
      const res = await fetch(`${url}/admin/behaviour`);
      if (!res.ok) throw new Error(`${p.name}: GET /admin/behaviour answered ${res.status}`);
      const original = await res.json();
      this.simulators.push({ name: p.name, url, original });
    }
  }

  /** The time the stack CLI recorded for its last `verb` on `target` since `since`, if any. */
  private cliTime(verb: string, target: string, since: string): string | undefined {
    if (!existsSync(this.l.faultLog)) return undefined;
    const lines = readFileSync(this.l.faultLog, 'utf8').trim().split('\n').slice(-50);
    for (const line of lines.reverse()) {
      try {
        const e = JSON.parse(line) as { time: string; verb: string; target: string };
        if (e.verb === verb && e.target === target && e.time >= since) return e.time;
      } catch {
        /* a partial line */
      }
    }
    return undefined;
  }

  private record(r: Omit<FaultRecord, 'done'>): void {
    const names = r.target.split(', ');
    const effective = names
      .map((n) => this.cliTime(r.verb, n, r.time))
      .filter((x): x is string => !!x)
      .sort()[0];
    const full: FaultRecord = {
      ...r,
      ...(effective ? { time: effective, asked: r.time } : {}),
      done: new Date().toISOString(),
    };
    this.records.push(full);
    appendFileSync(this.logFile, JSON.stringify(full) + '\n');
  }

  private async cli(args: string[]): Promise<string> {
    const r = await stackCli(args);
    if (r.code !== 0)
      throw new Error(`npm run stack -- ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stderr.trim();
  }

  /** Resolved in this process (a `status` through the CLI takes seconds on a loaded machine). */
  private async names(selector: string): Promise<string[]> {
    const status = this.status ?? (await stackStatus());
    if (selector === 'redis-primary') {
      const port = await sentinelPrimary(this.l);
      const p = status.processes.find((x) => x.role === 'redis' && x.port === port);
      if (!p) throw new Error('no Sentinel names a Redis primary');
      return [p.name];
    }
    if (selector.startsWith('role:')) {
      const names = status.processes.filter((p) => p.role === selector.slice(5)).map((p) => p.name);
      if (names.length === 0) throw new Error(`no process has role ${selector.slice(5)}`);
      return names;
    }
    return [selector];
  }

  /** Runs one step; a failed step is recorded and rethrown (the run is then aborted and restored). */
  async run(step: FaultStep): Promise<void> {
    const verb = faultVerb(step);
    const time = new Date().toISOString();
    const base = { time, at: step.at, verb, kubectl: kubectlEquivalent(step) };
    let target = '';
    try {
      if ('kill' in step) {
        const names = await this.names(step.kill);
        target = names.join(', ');
        const signal = step.signal ?? 'SIGKILL';
        await Promise.all(names.map((n) => this.cli(['kill', n, '--signal', signal])));
        for (const n of names) if (signal === 'SIGKILL' || signal.endsWith('TERM')) this.killed.add(n);
        this.record({ ...base, target, ok: true, detail: signal });
      } else if ('restart' in step) {
        const names = step.restart === 'killed' ? [...this.killed] : await this.names(step.restart);
        target = names.join(', ');
        for (const n of names) {
          await this.cli(['restart', n]);
          this.killed.delete(n);
        }
        this.record({ ...base, target, ok: true });
      } else if ('pause' in step || 'resume' in step) {
        const pausing = 'pause' in step;
        const names = await this.names(pausing ? step.pause : step.resume);
        target = names.join(', ');
        for (const n of names) {
          await this.cli([pausing ? 'pause' : 'resume', n]);
          if (pausing) this.paused.add(n);
          else this.paused.delete(n);
        }
        this.record({ ...base, target, ok: true });
      } else if ('drain' in step || 'undrain' in step) {
        const draining = 'drain' in step;
        target = draining ? step.drain : step.undrain;
        await this.cli([draining ? 'drain' : 'undrain', target]);
        if (draining) this.drained.add(target);
        else this.drained.delete(target);
        this.record({ ...base, target, ok: true });
      } else if ('failover' in step) {
        target = 'redis';
        const out = await this.cli(['failover']);
        this.record({ ...base, target, ok: true, detail: out.replace(/^stack: /, '') });
      } else if ('rolling-restart' in step) {
        target = 'orchestrators';
        await this.rollingRestart(base);
      } else if ('simulator' in step) {
        target = step.simulator;
        for (const s of this.sims(step.simulator)) await this.postBehaviour(s, step.behaviour);
        this.record({ ...base, target, ok: true, detail: JSON.stringify(step.behaviour) });
      } else if ('simulator-restore' in step) {
        target = step['simulator-restore'];
        for (const s of this.sims(target)) await this.restoreSimulator(s);
        this.record({ ...base, target, ok: true });
      }
    } catch (err) {
      this.record({ ...base, target, ok: false, detail: (err as Error).message });
      throw err;
    }
  }

  private sims(which: string): Simulator[] {
    const list = which === 'all' ? this.simulators : this.simulators.filter((s) => s.name === which);
    if (list.length === 0) throw new Error(`no LLM simulator ${which}`);
    return list;
  }

  private async postBehaviour(s: Simulator, behaviour: unknown): Promise<void> {
    const res = await fetch(`${s.url}/admin/behaviour`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(behaviour),
    });
    if (!res.ok) throw new Error(`${s.name}: POST /admin/behaviour answered ${res.status}`);
  }

  private async restoreSimulator(s: Simulator): Promise<void> {
    await this.postBehaviour(s, s.original);
    const res = await fetch(`${s.url}/admin/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`${s.name}: POST /admin/reset answered ${res.status}`);
  }

  private async inRotation(name: string): Promise<boolean> {
    const servers = await backendServers(this.l).catch(() => []);
    return servers.find((s) => s.name === name)?.operational === 2;
  }

  private async rollingRestart(base: Omit<FaultRecord, 'done' | 'target' | 'ok'>): Promise<void> {
    const status = await stackStatus();
    const orchestrators = status.processes.filter((p) => p.role === 'orchestrator');
    for (const o of orchestrators) {
      const sent = new Date().toISOString();
      await this.cli(['kill', o.name, '--signal', 'SIGTERM']);
      this.killed.add(o.name);
      this.record({ ...base, time: sent, verb: 'kill', target: o.name, ok: true, detail: 'SIGTERM' });
      await waitUntil(
        `${o.name} to exit after SIGTERM`,
        45000,
        async () => !o.pid || !isRunning(o.pid, process.execPath),
      );
      const exited = new Date().toISOString();
      this.record({
        ...base,
        time: exited,
        verb: 'exited',
        target: o.name,
        ok: true,
        detail: 'after SIGTERM',
      });
      const restarted = new Date().toISOString();
      await this.cli(['restart', o.name]);
      this.killed.delete(o.name);
      await waitUntil(`${o.name} back in rotation`, 20000, () => this.inRotation(o.name));
      this.record({
        ...base,
        time: restarted,
        verb: 'restart',
        target: o.name,
        ok: true,
        detail: 'in rotation',
      });
    }
  }

  /**
   * Puts the stack back: resumes, undrains, restarts what this run killed (and anything else found
   * down, which is reported), restores the simulators. Returns what it had to do beyond the plan, and
   * the stack's status afterwards.
   */
  async restore(): Promise<{ surprises: string[]; status: StackStatus }> {
    const surprises: string[] = [];
    const step = async (verb: string, target: string, fn: () => Promise<unknown>) => {
      const time = new Date().toISOString();
      try {
        await fn();
        this.record({ time, verb, target, ok: true, detail: 'restore' });
      } catch (err) {
        this.record({ time, verb, target, ok: false, detail: `restore: ${(err as Error).message}` });
        surprises.push(`restore ${verb} ${target} failed: ${(err as Error).message}`);
      }
    };
    for (const n of [...this.paused]) await step('resume', n, () => this.cli(['resume', n]));
    this.paused.clear();
    for (const n of [...this.drained]) await step('undrain', n, () => this.cli(['undrain', n]));
    this.drained.clear();
    for (const n of [...this.killed]) await step('restart', n, () => this.cli(['restart', n]));
    this.killed.clear();
    for (const s of this.simulators) await step('simulator-restore', s.name, () => this.restoreSimulator(s));
    let status = await stackStatus();
    const down = status.processes.filter((x) => !x.running);
    for (const p of down) {
      surprises.push(`${p.name} was down after the run although this run did not stop it`);
      await step('restart', p.name, () => this.cli(['restart', p.name]));
    }
    if (down.length) status = await stackStatus();
    return { surprises, status };
  }
}

export async function waitUntil(
  what: string,
  timeoutMs: number,
  fn: () => Promise<boolean>,
): Promise<number> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      if (await fn()) return Date.now() - start;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
