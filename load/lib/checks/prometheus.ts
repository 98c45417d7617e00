/**
 * Checks on the services' own metrics, read from Prometheus: memory growth, the connection cap, the LLM
 * router's fallbacks.
 */
import { MAX_CONNECTIONS } from '../../../platform/limits.ts';
import { baseMetricName, LLM_ROUTER_METRICS, METRIC_PREFIX } from '../../../platform/metrics.ts';
import { rangeOf } from '../prometheus.ts';
import { num, str, type CheckFn } from './context.ts';

const orchestrator = (m: Parameters<typeof baseMetricName>[1]) =>
  baseMetricName(METRIC_PREFIX.orchestrator, m);
const llm = LLM_ROUTER_METRICS;

export const prometheusChecks: Record<string, CheckFn> = {
  /** Resident memory of each orchestrator and agent grows at most `max_mib` over the run (Prometheus). */
  async memory_growth(ctx, p) {
    const max = num(p, 'max_mib', 64);
    if (!ctx.prometheus)
      return { name: 'memory growth bounded', ok: true, summary: 'skipped: no Prometheus' };
    const { started, ended } = ctx.data.meta;
    const q = Object.values(METRIC_PREFIX)
      .map((prefix) => `${prefix}process_resident_memory_bytes`)
      .join(' or ');
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
      `sum(increase(${orchestrator('refusedConnections')}${r}))`,
      ended,
    );
    const open = await ctx.prometheus.instant(
      `max(max_over_time(${orchestrator('openConnections')}${r}))`,
      ended,
    );
    const cap = await ctx.prometheus.instant(`min(${orchestrator('maxConnections')})`, ended);
    const refusedN = Math.round(refused[0]?.value ?? 0);
    const openN = open[0]?.value ?? 0;
    const capN = cap[0]?.value ?? MAX_CONNECTIONS;
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
    const fallbacks = await ctx.prometheus.instant(`sum(increase(${llm.fallbacks.name}${r}))`, ended);
    const retries = await ctx.prometheus.instant(`sum(increase(${llm.retries.name}${r}))`, ended);
    const open = await ctx.prometheus.instant(
      `max(max_over_time(${llm.breakerState.name}{provider="${provider}",state="open"}${r}))`,
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
