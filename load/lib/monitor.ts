/**
 * Watches the local stack while a scenario runs, four times a second: which orchestrators the load
 * balancer has in rotation, each orchestrator's own health (ready, Redis, each pool's breaker), and
 * which Redis the Sentinels call primary. It keeps only the changes, with their times, so the checks
 * can say how long detection and recovery took.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { backendServers, sentinelPrimary } from '../../stack/control.ts';
import { layout, loadOptions } from '../../stack/layout.ts';
import type { StackStatus } from './target.ts';

/** `subject` is `lb:orchestrator-2`, `health:orchestrator-1`, `breaker:orchestrator-1:git`, `redis:primary`, `redis:orchestrator-1`. */
export interface Transition {
  t: number;
  subject: string;
  from: string | undefined;
  to: string;
}

interface Health {
  ready?: boolean;
  checks?: {
    redis?: { ok?: boolean };
    agent_pools?: { detail?: Record<string, { breaker?: string }> };
  };
}

export class Monitor {
  readonly transitions: Transition[] = [];
  private readonly state = new Map<string, string>();
  private running = false;
  private loop?: Promise<void>;
  private readonly l = layout(loadOptions());

  private readonly status: StackStatus;
  private readonly file: string;
  private readonly intervalMs: number;

  constructor(status: StackStatus, file: string, intervalMs = 250) {
    this.status = status;
    this.file = file;
    this.intervalMs = intervalMs;
  }

  private set(subject: string, to: string): void {
    const from = this.state.get(subject);
    if (from === to) return;
    this.state.set(subject, to);
    const tr = { t: Date.now(), subject, from, to };
    this.transitions.push(tr);
    appendFileSync(this.file, JSON.stringify(tr) + '\n');
  }

  private async sample(tick: number): Promise<void> {
    const orchestrators = this.status.processes.filter((p) => p.role === 'orchestrator');
    const lb = backendServers(this.l).then(
      (servers) => {
        for (const s of servers) {
          this.set(`lb:${s.name}`, s.operational === 2 ? (s.admin & 8 ? 'drain' : 'up') : 'down');
        }
      },
      () => this.set('lb:runtime-api', 'unreachable'),
    );
    const health = orchestrators.map(async (o) => {
      try {
        const res = await fetch(`http://127.0.0.1:${o.port}/health`, { signal: AbortSignal.timeout(800) });
        const body = (await res.json()) as Health;
        this.set(`health:${o.name}`, res.status === 200 ? 'ready' : `not-ready`);
        this.set(`redis:${o.name}`, body.checks?.redis?.ok ? 'connected' : 'disconnected');
        for (const [pool, d] of Object.entries(body.checks?.agent_pools?.detail ?? {})) {
          this.set(`breaker:${o.name}:${pool}`, d.breaker ?? 'unknown');
        }
      } catch {
        this.set(`health:${o.name}`, 'unreachable');
      }
    });
    const primary =
      tick % 2 === 0
        ? sentinelPrimary(this.l).then(
            (port) => {
              const p = this.status.processes.find((x) => x.role === 'redis' && x.port === port);
              this.set('redis:primary', p?.name ?? 'none');
            },
            () => this.set('redis:primary', 'unknown'),
          )
        : Promise.resolve();
    await Promise.all([lb, ...health, primary]);
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      for (let tick = 0; this.running; tick++) {
        const t = Date.now();
        await this.sample(tick).catch(() => undefined);
        await sleep(Math.max(0, this.intervalMs - (Date.now() - t)));
      }
    })();
  }

  async stop(): Promise<Transition[]> {
    this.running = false;
    await this.loop;
    return this.transitions;
  }
}
