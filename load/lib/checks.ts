/**
 * The scenario checks Artillery's `ensure` cannot express: they need the time of a fault, a phase's
 * own window, each request's instance and correlation id, the ledger of acknowledged session writes,
 * what the monitor saw, or the services' own metrics in Prometheus. A scenario names the checks it
 * runs, with their thresholds, under `config.phoenix.checks` (see load/README.md for the list).
 */
import type { FaultRecord } from './faults.ts';
import type { AckRecord, RequestRecord } from './processor.ts';
import { rangeOf, type Prometheus } from './prometheus.ts';
import {
  between,
  failed,
  fmtMs,
  fmtPct,
  percentile,
  phaseWindow,
  stats,
  type CheckResult,
  type RunData,
} from './results.ts';

export interface CheckContext {
  data: RunData;
  prometheus?: Prometheus;
  /** GET /v1/sessions/{id} through the load balancer. */
  getSession?: (id: string) => Promise<{ status: number; body: string }>;
}

type Params = Record<string, unknown>;
type CheckFn = (ctx: CheckContext, p: Params) => Promise<CheckResult>;

const num = (p: Params, k: string, def?: number): number => {
  const v = p[k] ?? def;
  if (typeof v !== 'number') throw new Error(`check parameter ${k} must be a number`);
  return v;
};
const str = (p: Params, k: string, def?: string): string => {
  const v = p[k] ?? def;
  if (typeof v !== 'string') throw new Error(`check parameter ${k} must be a string`);
  return v;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const t = (iso: string) => Date.parse(iso);

/** Requests of a pool (tasks only) or of a name prefix (`session.`). */
const ofPool = (rs: RequestRecord[], pool: string) => rs.filter((r) => r.p === pool);
const isWrite = (r: RequestRecord) => r.n === 'session.create' || r.n === 'session.patch';

/** The window a check looks at: a named phase, or the whole run. */
function window(ctx: CheckContext, p: Params): { start: number; end: number; label: string } {
  const phase = p['phase'];
  if (typeof phase === 'string') return { ...phaseWindow(ctx.data.meta, phase), label: `phase ${phase}` };
  return { start: ctx.data.meta.started, end: ctx.data.meta.ended, label: 'the whole run' };
}

/** The first fault record of a verb (and target, when given). */
function fault(ctx: CheckContext, verb: string, target?: string): FaultRecord {
  const f = ctx.data.faults.find(
    (x) => x.verb === verb && x.at !== undefined && (!target || x.target.split(', ').includes(target)),
  );
  if (!f) throw new Error(`the run has no ${verb}${target ? ` of ${target}` : ''} fault`);
  return f;
}

const counter = (ctx: CheckContext, name: string) => ctx.data.artillery?.aggregate.counters?.[name] ?? 0;

const sample = (rs: RequestRecord[], n = 3) =>
  rs
    .slice(0, n)
    .map((r) => `${new Date(r.t).toISOString()} ${r.m} ${r.n} -> ${r.s || r.e} ${r.pt ?? ''}`.trim());

export const CHECKS: Record<string, CheckFn> = {
  /** No failed request (5xx or transport error) of the given methods (default: any method). */
  async no_failed(ctx, p) {
    const methods = (p['methods'] as string[] | undefined)?.map((m) => m.toUpperCase());
    const w = window(ctx, p);
    const rs = between(ctx.data.requests, w.start, w.end).filter((r) => !methods || methods.includes(r.m));
    const bad = rs.filter(failed);
    const which = methods ? methods.join('/') : 'all';
    return {
      name: `no failed ${methods ? `${which} ` : ''}request${methods ? 's' : ''} (${w.label})`,
      ok: bad.length === 0 && rs.length > 0,
      summary: `${bad.length} failed of ${rs.length} ${which} requests`,
      details: sample(bad),
    };
  },

  /** Failed share of the requests in a window (optionally of one pool) at most `max`. */
  async error_rate(ctx, p) {
    const w = window(ctx, p);
    const pool = p['pool'] as string | undefined;
    let rs = between(ctx.data.requests, w.start, w.end);
    if (pool) rs = ofPool(rs, pool);
    const s = stats(rs);
    const max = num(p, 'max');
    const retried = rs.filter((r) => r.r).length;
    return {
      name: `error rate${pool ? ` of the ${pool} pool` : ''} in ${w.label} < ${fmtPct(max)}`,
      ok: rs.length > 0 && s.errorRate < max,
      summary:
        `${s.failed} of ${s.requests} failed (${fmtPct(s.errorRate)})` +
        (retried ? `; ${retried} answers were 503 with Retry-After, retried by the client` : ''),
      details: sample(rs.filter(failed)),
    };
  },

  /** p95 (and, when given, p99) latency in a window (optionally of one pool) under `p95_ms` (`p99_ms`). */
  async latency(ctx, p) {
    const w = window(ctx, p);
    const pool = p['pool'] as string | undefined;
    let rs = between(ctx.data.requests, w.start, w.end);
    if (pool) rs = ofPool(rs, pool);
    const s = stats(rs);
    const max95 = num(p, 'p95_ms');
    const max99 = p['p99_ms'] === undefined ? undefined : num(p, 'p99_ms');
    return {
      name:
        `p95 latency${pool ? ` of the ${pool} pool` : ''} in ${w.label} < ${max95} ms` +
        (max99 ? `, p99 < ${max99} ms` : ''),
      ok: s.p95 !== undefined && s.p95 < max95 && (max99 === undefined || (s.p99 ?? Infinity) < max99),
      summary: `p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)}, p99 ${fmtMs(s.p99)} over ${s.requests} requests`,
    };
  },

  /**
   * Each correlation id answered by one instance only. With `allow_failover: true`, an id may move
   * away from an instance only after that instance was stopped by a fault.
   */
  async sticky(ctx, p) {
    const allowFailover = p['allow_failover'] === true;
    const stops = ctx.data.faults.filter(
      (f) => f.verb === 'kill' || f.verb === 'pause' || f.verb === 'drain',
    );
    const byId = new Map<string, RequestRecord[]>();
    for (const r of ctx.data.requests) {
      if (!r.id || !r.by) continue;
      byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    }
    const moved: string[] = [];
    for (const [id, rs] of byId) {
      for (let i = 1; i < rs.length; i++) {
        const prev = rs[i - 1]!;
        const cur = rs[i]!;
        if (prev.by === cur.by) continue;
        const excused =
          allowFailover &&
          stops.some((f) => f.target.split(', ').includes(prev.by!) && t(f.time) <= cur.t + cur.d);
        if (!excused) moved.push(`${id}: ${prev.by} -> ${cur.by} at ${new Date(cur.t).toISOString()}`);
      }
    }
    return {
      name: allowFailover
        ? 'correlation ids move only away from a stopped instance'
        : 'every correlation id stays on one instance',
      ok: byId.size > 0 && moved.length === 0,
      summary: `${byId.size} correlation ids, ${moved.length} moved${allowFailover ? ' without a fault' : ''}`,
      details: moved.slice(0, 5),
    };
  },

  /** Sessions continue: no version out of step (processor counter), and the ledger holds (see `ledger`). */
  async sessions(ctx) {
    const broken = counter(ctx, 'phoenix.session.broken');
    const acks = ctx.data.acks.length;
    return {
      name: 'sessions continue correctly (each write and task moves the version on by one)',
      ok: broken === 0 && acks > 0,
      summary: `${acks} acknowledged writes, ${broken} answers with a version out of step`,
    };
  },

  /** Every acknowledged session write is still there afterwards (read back through the load balancer). */
  async ledger(ctx) {
    const last = new Map<string, AckRecord['ack']>();
    for (const a of ctx.data.acks) {
      const prev = last.get(a.ack.sid);
      if (!prev || a.ack.v > prev.v) last.set(a.ack.sid, a.ack);
    }
    if (!ctx.getSession) {
      return {
        name: 'no acknowledged session write lost',
        ok: true,
        summary: 'skipped: no client to read sessions back',
      };
    }
    const lost: string[] = [];
    const entries = [...last.values()];
    const readBack = async (ack: AckRecord['ack']) => {
      let res = await ctx.getSession!(ack.sid);
      for (let i = 0; i < 20 && res.status >= 500; i++) {
        await new Promise((r) => setTimeout(r, 500));
        res = await ctx.getSession!(ack.sid);
      }
      if (res.status !== 200)
        return lost.push(`${ack.sid}: GET answered ${res.status} (acknowledged version ${ack.v})`);
      const body = JSON.parse(res.body) as { version: number; data?: { marker?: string } };
      if (body.version < ack.v) lost.push(`${ack.sid}: version ${body.version} < acknowledged ${ack.v}`);
      else if (body.version === ack.v && body.data?.marker !== ack.m) {
        lost.push(`${ack.sid}: version ${ack.v} holds marker ${body.data?.marker}, acknowledged ${ack.m}`);
      }
    };
    for (let i = 0; i < entries.length; i += 16) await Promise.all(entries.slice(i, i + 16).map(readBack));
    return {
      name: 'no acknowledged session write lost',
      ok: entries.length > 0 && lost.length === 0,
      summary: `${ctx.data.acks.length} acknowledged writes to ${entries.length} sessions read back; ${lost.length} lost`,
      details: lost.slice(0, 5),
    };
  },

  /**
   * Measured hit ratio HIT/(HIT+MISS) of a phase within `tolerance` of the ideal for the requests
   * actually sent: an input asked before (in the run, including the warm-up) is a hit, its first
   * request a miss. Concurrent first requests for one input count as one miss: single flight.
   */
  async hit_ratio(ctx, p) {
    const w = window(ctx, p);
    const tolerance = num(p, 'tolerance', 0.03);
    const seen = new Set<string>();
    let ideal = 0;
    let idealN = 0;
    let hits = 0;
    let misses = 0;
    for (const r of ctx.data.requests) {
      if (!r.k) continue;
      const inWindow = r.t >= w.start && r.t < w.end && !failed(r) && (r.c === 'HIT' || r.c === 'MISS');
      if (inWindow) {
        idealN += 1;
        if (seen.has(r.k)) ideal += 1;
        if (r.c === 'HIT') hits += 1;
        else misses += 1;
      }
      seen.add(r.k);
    }
    const idealRatio = idealN ? ideal / idealN : 0;
    const measured = hits + misses ? hits / (hits + misses) : 0;
    return {
      name: `cache hit ratio in ${w.label} within ${Math.round(tolerance * 100)} points of the ideal`,
      ok: idealN > 0 && Math.abs(measured - idealRatio) <= tolerance,
      summary: `measured ${fmtPct(measured, 1)} (${hits} HIT, ${misses} MISS), ideal ${fmtPct(idealRatio, 1)}`,
    };
  },

  /** No input computed twice: at most one MISS per task key over the run (no stampede). */
  async single_computation(ctx, p) {
    const max = num(p, 'max_duplicates', 0);
    const misses = new Map<string, number>();
    for (const r of ctx.data.requests) if (r.k && r.c === 'MISS') misses.set(r.k, (misses.get(r.k) ?? 0) + 1);
    const dup = [...misses].filter(([, n]) => n > 1);
    return {
      name: 'no duplicate computation (one MISS per input)',
      ok: misses.size > 0 && dup.length <= max,
      summary: `${misses.size} inputs computed, ${dup.length} of them more than once`,
      details: dup.slice(0, 5).map(([k, n]) => `${n} MISS: ${k.slice(0, 120)}`),
    };
  },

  /**
   * HIT p50 at least `factor` times lower than MISS p50, over the kinds of task (pool and action) that
   * were answered both ways, so that both sides hold the same kinds of request (a git HIT still asks
   * the agent which commit a ref names; an LLM MISS waits for the provider).
   */
  async hit_faster(ctx, p) {
    const factor = num(p, 'factor', 3);
    const kind = (r: RequestRecord) => r.k!.slice(0, r.k!.indexOf(':'));
    const w = window(ctx, p);
    // Only the named requests: a burst's waiters are HITs that waited for the computation.
    const names = p['names'] as string[] | undefined;
    const ok = between(ctx.data.requests, w.start, w.end).filter(
      (r) => !failed(r) && r.k && (r.c === 'HIT' || r.c === 'MISS') && (!names || names.includes(r.n)),
    );
    const both = new Set(
      [...new Set(ok.map(kind))].filter(
        (k) =>
          ok.some((r) => kind(r) === k && r.c === 'HIT') && ok.some((r) => kind(r) === k && r.c === 'MISS'),
      ),
    );
    const pick = (c: string) => ok.filter((r) => r.c === c && both.has(kind(r))).map((r) => r.d);
    const hit = percentile(pick('HIT'), 50);
    const miss = percentile(pick('MISS'), 50);
    return {
      name: `HIT latency far below MISS latency in ${w.label} (p50 at least ${factor}x lower, same kinds of task)`,
      ok: hit !== undefined && miss !== undefined && hit * factor <= miss,
      summary:
        `p50 HIT ${fmtMs(hit)}, MISS ${fmtMs(miss)} (${hit && miss ? (miss / hit).toFixed(1) : '-'}x) ` +
        `over ${[...both].join(', ') || 'no kind answered both ways'}`,
    };
  },

  /** The load balancer takes a killed orchestrator out of rotation within `max_ms`, and back after its restart. */
  async rotation(ctx, p) {
    const target = str(p, 'target');
    const max = num(p, 'max_ms', 2000);
    const kill = fault(ctx, 'kill', target);
    const down = ctx.data.transitions.find(
      (x) => x.subject === `lb:${target}` && x.to !== 'up' && x.t >= t(kill.time),
    );
    const restart = ctx.data.faults.find(
      (f) => f.verb === 'restart' && f.target.includes(target) && t(f.time) >= t(kill.time),
    );
    const up = restart
      ? ctx.data.transitions.find(
          (x) => x.subject === `lb:${target}` && x.to === 'up' && x.t >= t(restart.time),
        )
      : undefined;
    const detect = down ? down.t - t(kill.time) : undefined;
    return {
      name: `${target} out of rotation within ${sec(max)} of the kill, back after its restart`,
      ok: detect !== undefined && detect <= max && (!restart || up !== undefined),
      summary:
        `out of rotation after ${detect === undefined ? 'never' : sec(detect)}` +
        (restart
          ? `; back in rotation ${up ? sec(up.t - t(restart.time)) : 'never'} after the restart command`
          : ''),
    };
  },

  /**
   * Writes (session create and patch) succeed again within `max_ms` of the fault: the time from the
   * fault to the first successful write after the last failed one.
   */
  async writes_recover(ctx, p) {
    const max = num(p, 'max_ms', 10000);
    const f = fault(ctx, str(p, 'verb', 'kill'), p['target'] as string | undefined);
    const from = t(f.time);
    const writes = ctx.data.requests.filter((r) => isWrite(r) && r.t + r.d >= from);
    // Every attempt counts here, retried ones too: this measures the outage, not what clients saw.
    const bad = writes.filter((r) => r.s === 0 || r.s >= 500);
    const lastBad = bad.at(-1);
    const good = (r: RequestRecord) => r.s > 0 && r.s < 500;
    const back = lastBad ? writes.find((r) => good(r) && r.t > lastBad.t) : writes.find(good);
    const took = lastBad && back ? back.t + back.d - from : 0;
    return {
      name: `writes succeed again within ${sec(max)} of the ${f.verb} of ${f.target}`,
      ok: back !== undefined && took <= max,
      summary: lastBad
        ? `${bad.length} write attempts failed (${bad.filter((r) => r.r).length} of them retried); ` +
          `writes succeed again ${back ? sec(took) : 'never'} after the ${f.verb}`
        : `no write failed (${writes.length} writes after the ${f.verb})`,
      details: sample(bad),
    };
  },

  /** Every orchestrator's breaker for the pool opens after the pool is stopped, and closes after it returns. */
  async breakers_open(ctx, p) {
    const pool = str(p, 'pool');
    const kill = fault(ctx, 'kill');
    const restart = ctx.data.faults.find(
      (f) => f.verb === 'restart' && f.at !== undefined && t(f.time) >= t(kill.time),
    );
    const subjects = [
      ...new Set(ctx.data.transitions.filter((x) => x.subject.endsWith(`:${pool}`)).map((x) => x.subject)),
    ];
    const orchestrators = [
      ...new Set(
        ctx.data.transitions.filter((x) => x.subject.startsWith('health:')).map((x) => x.subject.slice(7)),
      ),
    ];
    const lines: string[] = [];
    let allOpened = orchestrators.length > 0;
    let allClosed = true;
    for (const o of orchestrators) {
      const subject = `breaker:${o}:${pool}`;
      const opened = ctx.data.transitions.find(
        (x) => x.subject === subject && x.to === 'open' && x.t >= t(kill.time),
      );
      const closed = restart
        ? ctx.data.transitions.find(
            (x) => x.subject === subject && x.to === 'closed' && x.t >= t(restart.time),
          )
        : undefined;
      if (!opened) allOpened = false;
      if (restart && !closed) allClosed = false;
      lines.push(
        `${o}: open ${opened ? `${sec(opened.t - t(kill.time))} after the kill` : 'never'}` +
          (restart
            ? `, closed ${closed ? `${sec(closed.t - t(restart.time))} after the restart` : 'never'}`
            : ''),
      );
    }
    return {
      name: `the ${pool} breaker opens on every orchestrator, and closes after the pool returns`,
      ok: allOpened && allClosed && subjects.length > 0,
      summary: lines.join('; '),
    };
  },

  /**
   * While the pool is away its requests fail fast (p99 under `max_ms`, far below the agent timeout)
   * with a problem document naming what happened (`urn:phoenix-orch:problem:...`).
   */
  async fail_fast(ctx, p) {
    const pool = str(p, 'pool');
    const max = num(p, 'max_ms', 1000);
    const kill = fault(ctx, 'kill');
    const restart = ctx.data.faults.find(
      (f) => f.verb === 'restart' && f.at !== undefined && t(f.time) >= t(kill.time),
    );
    const rs = ofPool(
      between(ctx.data.requests, t(kill.done), restart ? t(restart.time) : ctx.data.meta.ended),
      pool,
    );
    const bad = rs.filter(failed);
    const unclear = bad.filter((r) => r.s === 0 || !r.pt?.startsWith('urn:phoenix-orch:problem:'));
    const p99 = percentile(
      bad.map((r) => r.d),
      99,
    );
    const kinds = new Map<string, number>();
    for (const r of bad)
      kinds.set(`${r.s} ${r.pt ?? '(none)'}`, (kinds.get(`${r.s} ${r.pt ?? '(none)'}`) ?? 0) + 1);
    const types = [...kinds]
      .map(([k, n]) => `${n}x ${k.replace('urn:phoenix-orch:problem:', '')}`)
      .join(', ');
    return {
      name: `${pool} requests fail fast (p99 < ${max} ms) with a problem document while the pool is away`,
      ok: bad.length > 0 && unclear.length === 0 && p99 !== undefined && p99 < max,
      summary:
        `${bad.length} of ${rs.length} failed, p99 ${fmtMs(p99)}, max ${fmtMs(Math.max(0, ...bad.map((r) => r.d)))}; ` +
        `${types || '-'}; ${unclear.length} without a problem document`,
      details: sample(unclear),
    };
  },

  /** Requests of the other pools keep succeeding (error rate at most `max_error_rate`) while one pool is away. */
  async other_pools_unaffected(ctx, p) {
    const pool = str(p, 'pool');
    const max = num(p, 'max_error_rate', 0.005);
    const kill = fault(ctx, 'kill');
    const restart = ctx.data.faults.find(
      (f) => f.verb === 'restart' && f.at !== undefined && t(f.time) >= t(kill.time),
    );
    const during = between(
      ctx.data.requests,
      t(kill.time),
      restart ? t(restart.done) : ctx.data.meta.ended,
    ).filter((r) => r.p && r.p !== pool);
    const before = between(ctx.data.requests, ctx.data.meta.started, t(kill.time)).filter(
      (r) => r.p && r.p !== pool,
    );
    const s = stats(during);
    const b = stats(before);
    return {
      name: `the other pools are unaffected while ${pool} is away (error rate < ${fmtPct(max)})`,
      ok: during.length > 0 && s.errorRate < max,
      summary: `${s.failed} of ${s.requests} failed; p95 ${fmtMs(s.p95)} (before the fault ${fmtMs(b.p95)})`,
      details: sample(during.filter(failed)),
    };
  },

  /** The pool serves again within `within_ms` of its restart: its last failure is that soon after. */
  async pool_recovers(ctx, p) {
    const pool = str(p, 'pool');
    const within = num(p, 'within_ms', 20000);
    const restart = ctx.data.faults.find((f) => f.verb === 'restart' && f.at !== undefined);
    if (!restart) throw new Error('the run has no restart fault');
    const after = ofPool(ctx.data.requests, pool).filter((r) => r.t >= t(restart.time));
    const lastBad = after.filter(failed).at(-1);
    const okAfter = after.filter((r) => !failed(r) && (!lastBad || r.t > lastBad.t));
    const took = lastBad ? lastBad.t + lastBad.d - t(restart.done) : 0;
    return {
      name: `the ${pool} pool serves again within ${sec(within)} of its restart`,
      ok: okAfter.length > 0 && took <= within,
      summary: lastBad
        ? `last failure ${sec(Math.max(0, took))} after the restart completed; ${okAfter.length} successes after it`
        : `no failure after the restart (${after.length} requests)`,
    };
  },

  /** The error rate of phase `to` is at most `max_increase` above that of phase `from`. */
  async error_growth(ctx, p) {
    const from = phaseWindow(ctx.data.meta, str(p, 'from'));
    const to = phaseWindow(ctx.data.meta, str(p, 'to'));
    const max = num(p, 'max_increase', 0.005);
    const a = stats(between(ctx.data.requests, from.start, from.end));
    const b = stats(between(ctx.data.requests, to.start, to.end));
    return {
      name: `no error growth from ${p['from']} to ${p['to']} (at most +${fmtPct(max)})`,
      ok: a.requests > 0 && b.requests > 0 && b.errorRate - a.errorRate <= max,
      summary: `${fmtPct(a.errorRate)} (${a.requests}) -> ${fmtPct(b.errorRate)} (${b.requests})`,
    };
  },

  /** p95 latency of phase `to` at most `max_factor` times that of phase `from`. */
  async latency_growth(ctx, p) {
    const from = phaseWindow(ctx.data.meta, str(p, 'from'));
    const to = phaseWindow(ctx.data.meta, str(p, 'to'));
    const max = num(p, 'max_factor', 2);
    const floor = num(p, 'floor_ms', 50);
    const a = stats(between(ctx.data.requests, from.start, from.end));
    const b = stats(between(ctx.data.requests, to.start, to.end));
    const limit = Math.max(floor, (a.p95 ?? 0) * max);
    return {
      name: `p95 latency of ${p['to']} at most ${max}x that of ${p['from']} (or ${floor} ms)`,
      ok: a.p95 !== undefined && b.p95 !== undefined && b.p95 <= limit,
      summary: `p95 ${fmtMs(a.p95)} -> ${fmtMs(b.p95)} (limit ${fmtMs(limit)})`,
    };
  },

  /** Resident memory of each orchestrator and agent grows at most `max_mib` over the run (Prometheus). */
  async memory_growth(ctx, p) {
    const max = num(p, 'max_mib', 64);
    if (!ctx.prometheus)
      return { name: 'memory growth bounded', ok: true, summary: 'skipped: no Prometheus' };
    const { started, ended } = ctx.data.meta;
    const q = 'orchestrator_process_resident_memory_bytes or agent_process_resident_memory_bytes';
    const startQ = await ctx.prometheus.instant(q, started + 5000);
    const endQ = await ctx.prometheus.instant(q, ended);
    const growth = endQ
      .map((e) => {
        const s = startQ.find((x) => x.metric['pod'] === e.metric['pod']);
        return {
          pod: e.metric['pod'] ?? '?',
          mib: s ? (e.value - s.value) / 1048576 : NaN,
          end: e.value / 1048576,
        };
      })
      .filter((g) => !Number.isNaN(g.mib))
      .sort((a, b) => b.mib - a.mib);
    const worst = growth[0];
    return {
      name: `no memory growth beyond ${max} MiB in any service over the run`,
      ok: growth.length > 0 && (worst?.mib ?? 0) <= max,
      summary: worst
        ? `largest growth ${worst.mib.toFixed(1)} MiB (${worst.pod}, now ${worst.end.toFixed(0)} MiB) over ${growth.length} processes`
        : 'no samples',
      details: growth.slice(0, 4).map((g) => `${g.pod}: ${g.mib >= 0 ? '+' : ''}${g.mib.toFixed(1)} MiB`),
    };
  },

  /** The connection limits hold: no connection refused by an orchestrator, open connections under the cap. */
  async connections(ctx) {
    if (!ctx.prometheus)
      return { name: 'connection limits hold', ok: true, summary: 'skipped: no Prometheus' };
    const { started, ended } = ctx.data.meta;
    const r = rangeOf(started, ended);
    const refused = await ctx.prometheus.instant(
      `sum(increase(orchestrator_connections_refused_total${r}))`,
      ended,
    );
    const open = await ctx.prometheus.instant(`max(max_over_time(orchestrator_open_connections${r}))`, ended);
    const cap = await ctx.prometheus.instant('min(orchestrator_max_connections)', ended);
    const refusedN = Math.round(refused[0]?.value ?? 0);
    const openN = open[0]?.value ?? 0;
    const capN = cap[0]?.value ?? 1000;
    return {
      name: 'connection limits hold (nothing refused, open connections under the cap)',
      ok: open.length > 0 && refusedN === 0 && openN <= capN,
      summary: `${refusedN} refused; at most ${openN} open connections on one orchestrator (cap ${capN})`,
    };
  },

  /** The LLM router fell back to another provider and opened the degraded provider's breaker (Prometheus). */
  async llm_fallbacks(ctx, p) {
    const provider = str(p, 'provider', 'sim-a');
    if (!ctx.prometheus)
      return { name: 'LLM router falls back', ok: true, summary: 'skipped: no Prometheus' };
    const { started, ended } = ctx.data.meta;
    const r = rangeOf(started, ended);
    const fallbacks = await ctx.prometheus.instant(`sum(increase(agent_llm_fallbacks_total${r}))`, ended);
    const retries = await ctx.prometheus.instant(`sum(increase(agent_llm_retries_total${r}))`, ended);
    const open = await ctx.prometheus.instant(
      `max(max_over_time(agent_llm_provider_breaker_state{provider="${provider}",state="open"}${r}))`,
      ended,
    );
    const f = Math.round(fallbacks[0]?.value ?? 0);
    const opened = (open[0]?.value ?? 0) >= 1;
    return {
      // The breaker can open and half-open between two 5 s scrapes, so its state is reported, not required.
      name: `the LLM router falls back from ${provider}`,
      ok: f > 0,
      summary: `${f} fallbacks, ${Math.round(retries[0]?.value ?? 0)} retries; ${provider} breaker ${opened ? 'opened' : 'never opened'}`,
    };
  },
};

/** The checks that read the services' own metrics from Prometheus. */
export const PROMETHEUS_CHECKS = new Set(['memory_growth', 'connections', 'llm_fallbacks']);

export async function runChecks(ctx: CheckContext, checks: Record<string, Params>): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const [key, params] of Object.entries(checks)) {
    // `name#2` runs the check `name` a second time with other parameters.
    const name = key.replace(/#.*$/, '');
    const fn = CHECKS[name];
    if (!fn) {
      out.push({
        name: key,
        ok: false,
        summary: `unknown check ${name}; known: ${Object.keys(CHECKS).join(', ')}`,
      });
      continue;
    }
    try {
      out.push(await fn(ctx, params ?? {}));
    } catch (err) {
      out.push({ name: key, ok: false, summary: `could not be evaluated: ${(err as Error).message}` });
    }
  }
  return out;
}
