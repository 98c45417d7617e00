/** What every check is given and the helpers they share: parameters, windows, faults, samples. */
import type { FaultRecord } from '../faults.ts';
import type { RequestRecord } from '../processor.ts';
import type { Prometheus } from '../prometheus.ts';
import { phaseWindow, type CheckResult, type RunData } from '../results.ts';

export interface CheckContext {
  data: RunData;
  prometheus?: Prometheus;
  /** GET /v1/sessions/{id} through the load balancer. */
  getSession?: (id: string) => Promise<{ status: number; body: string }>;
}

export type Params = Record<string, unknown>;
export type CheckFn = (ctx: CheckContext, p: Params) => Promise<CheckResult>;

export const num = (p: Params, k: string, def?: number): number => {
  const v = p[k] ?? def;
  if (typeof v !== 'number') throw new Error(`check parameter ${k} must be a number`);
  return v;
};
export const str = (p: Params, k: string, def?: string): string => {
  const v = p[k] ?? def;
  if (typeof v !== 'string') throw new Error(`check parameter ${k} must be a string`);
  return v;
};
export const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const t = (iso: string) => Date.parse(iso);

/** Requests of a pool (tasks only) or of a name prefix (`session.`). */
export const ofPool = (rs: RequestRecord[], pool: string) => rs.filter((r) => r.p === pool);
export const isWrite = (r: RequestRecord) => r.n === 'session.create' || r.n === 'session.patch';

/** The window a check looks at: a named phase, or the whole run. */
export function window(ctx: CheckContext, p: Params): { start: number; end: number; label: string } {
  const phase = p['phase'];
  if (typeof phase === 'string') return { ...phaseWindow(ctx.data.meta, phase), label: `phase ${phase}` };
  return { start: ctx.data.meta.started, end: ctx.data.meta.ended, label: 'the whole run' };
}

/** The first fault record of a verb (and target, when given). */
export function fault(ctx: CheckContext, verb: string, target?: string): FaultRecord {
  const f = ctx.data.faults.find(
    (x) => x.verb === verb && x.at !== undefined && (!target || x.target.split(', ').includes(target)),
  );
  if (!f) throw new Error(`the run has no ${verb}${target ? ` of ${target}` : ''} fault`);
  return f;
}

export const counter = (ctx: CheckContext, name: string) =>
  ctx.data.artillery?.aggregate.counters?.[name] ?? 0;

export const sample = (rs: RequestRecord[], n = 3) =>
  rs
    .slice(0, n)
    .map((r) => `${new Date(r.t).toISOString()} ${r.m} ${r.n} -> ${r.s || r.e} ${r.pt ?? ''}`.trim());
