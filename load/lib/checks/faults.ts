/**
 * Checks around a fault: the load balancer takes a killed orchestrator out of rotation, writes come
 * back after a Redis failover, breakers open while a pool is away and its requests fail fast, the other
 * pools are unaffected, and the pool serves again after its restart.
 */
import type { RequestRecord } from '../processor.ts';
import { between, failed, fmtMs, fmtPct, percentile, stats } from '../results.ts';
import {
  num,
  str,
  sec,
  t,
  ofPool,
  isWrite,
  fault,
  sample,
  type CheckContext,
  type CheckFn,
} from './context.ts';

/** The run's first kill, and the first scheduled restart after it (if any). */
function killThenRestart(ctx: CheckContext) {
  const kill = fault(ctx, 'kill');
  const restart = ctx.data.faults.find(
    (f) => f.verb === 'restart' && f.at !== undefined && t(f.time) >= t(kill.time),
  );
  return { kill, restart };
}

export const faultChecks: Record<string, CheckFn> = {
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
    const { kill, restart } = killThenRestart(ctx);
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
    const { kill, restart } = killThenRestart(ctx);
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
    const { kill, restart } = killThenRestart(ctx);
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
};
