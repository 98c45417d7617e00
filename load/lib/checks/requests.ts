/**
 * Checks on the requests of a window (a phase, or the whole run): failures, error rate, latency, and how
 * they grow from one phase to the next.
 */
import { between, failed, fmtMs, fmtPct, phaseWindow, stats } from '../results.ts';
import { num, str, ofPool, window, sample, type CheckContext, type CheckFn, type Params } from './context.ts';

/** The requests of the check's window, of its `pool` when it names one. */
function requestsOf(ctx: CheckContext, p: Params) {
  const w = window(ctx, p);
  const pool = p['pool'] as string | undefined;
  const rs = between(ctx.data.requests, w.start, w.end);
  return { w, pool, rs: pool ? ofPool(rs, pool) : rs };
}

export const requestsChecks: Record<string, CheckFn> = {
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
    const { w, pool, rs } = requestsOf(ctx, p);
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
    const { w, pool, rs } = requestsOf(ctx, p);
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
};
