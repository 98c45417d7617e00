/**
 * Checks on the cache: the hit ratio against the ideal for the requests sent, one computation per
 * input (no stampede), and hits far faster than misses.
 */
import type { RequestRecord } from '../processor.ts';
import { between, failed, fmtMs, fmtPct, percentile } from '../results.ts';
import { num, window, type CheckFn } from './context.ts';

export const cacheChecks: Record<string, CheckFn> = {
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
};
