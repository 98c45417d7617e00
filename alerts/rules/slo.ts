import { parseDuration } from '../duration.ts';
import type { AlertsConfig } from '../config.ts';
import { num, type AlertingRule, type Context, type RecordingRule } from '../lib.ts';

/**
 * Recording rules (`level:metric:operations`, named after the nominal window in both modes) and the
 * multi-window, multi-burn-rate alerts of the Google SRE workbook, chapter 5, for two SLOs of the
 * orchestrator's client traffic: availability (not 5xx) and latency (answered within a bucket bound).
 * Every rule keeps `cluster` and `namespace` (level `namespace_job`), so installations never merge. The
 * rates recorded over the shortest window are what the SLO period is summed from: a 30-day share is
 * `sum_over_time` of them over 30 days, not an `increase()` of the raw counters over 30 days.
 */

type Ratio = 'availability_errors' | 'latency_errors' | 'cache_hits';
/** The recorded rates: client requests, those answered 5xx, those timed, those slower than the bound. */
export type RecordedRate =
  'http_requests' | 'http_errors' | 'http_request_duration_seconds_count' | 'http_slow_requests';

const LEVEL = 'namespace_job';
export const rateRecordName = (what: RecordedRate, window: string) =>
  `${LEVEL}:orchestrator_${what}:rate${window}`;
export const requestsRecordName = (window: string) => rateRecordName('http_requests', window);
export const recordName = (ratio: Ratio, window: string) =>
  `${LEVEL}:orchestrator_${ratio}:ratio_rate${window}`;

const byDuration = (windows: Iterable<string>) =>
  [...new Set(windows)].sort((a, b) => parseDuration(a) - parseDuration(b));

function burnWindows(config: AlertsConfig): string[] {
  const { fast, slow } = config.slo.burnRates;
  return byDuration([...fast.windows, ...slow.windows].flatMap((w) => [w.long, w.short]));
}

/** The window of the recorded rates the SLO period sums: the shortest burn-rate window. */
export const periodSampleWindow = (config: AlertsConfig): string => burnWindows(config)[0]!;

export function recordingRules(ctx: Context): RecordingRule[] {
  const c = ctx.config;
  const client = `${ctx.job(c.jobs.orchestrator)}, route!~"${c.nonClientRoutes}"`;
  const le = num(c.slo.latency.thresholdSeconds);
  const sum = (selector: string, range: string) => `sum ${ctx.by('job')} (rate(${selector}[${range}]))`;
  /** A series recorded above, of the orchestrators' job. */
  const own = (record: string) => `${record}{${ctx.job(c.jobs.orchestrator)}}`;
  const rules: RecordingRule[] = [];
  for (const w of byDuration([...burnWindows(c), c.errorRate.window])) {
    const range = ctx.range(w);
    const requests = rateRecordName('http_requests', w);
    const errors = rateRecordName('http_errors', w);
    rules.push(
      { record: requests, expr: sum(`orchestrator_http_requests_total{${client}}`, range) },
      // `or 0 * ...`: 0, not absent, while traffic flows without a single 5xx yet.
      {
        record: errors,
        expr: `${sum(`orchestrator_http_requests_total{${client}, status=~"5.."}`, range)}\nor 0 * ${own(requests)}`,
      },
      { record: recordName('availability_errors', w), expr: `${own(errors)}\n/ (${own(requests)} > 0)` },
    );
  }
  for (const w of burnWindows(c)) {
    const range = ctx.range(w);
    const timed = rateRecordName('http_request_duration_seconds_count', w);
    const slow = rateRecordName('http_slow_requests', w);
    rules.push(
      { record: timed, expr: sum(`orchestrator_http_request_duration_seconds_count{${client}}`, range) },
      {
        record: slow,
        expr: `${own(timed)}\n- ${sum(`orchestrator_http_request_duration_seconds_bucket{${client}, le="${le}"}`, range)}`,
      },
      { record: recordName('latency_errors', w), expr: `${own(slow)}\n/ (${own(timed)} > 0)` },
    );
  }
  const lookups = (result: string) =>
    sum(
      `orchestrator_cache_lookups_total{${ctx.job(c.jobs.orchestrator)}, result=~"${result}"}`,
      ctx.range(c.cacheHitRatio.window),
    );
  rules.push({
    record: recordName('cache_hits', c.cacheHitRatio.window),
    expr: [
      '(',
      `  ${lookups('hit')}`,
      `  or 0 * ${lookups('miss')}`,
      ')',
      `/ (${lookups('hit|miss')} > 0)`,
    ].join('\n'),
  });
  return rules;
}

export function sloAlerts(ctx: Context): AlertingRule[] {
  const c = ctx.config;
  const orchestrator = ctx.job(c.jobs.orchestrator);
  const slos = [
    {
      key: 'Availability',
      ratio: 'availability_errors' as const,
      objective: c.slo.availability.objective,
      bad: 'were answered 5xx',
      panel: 'availabilityBurnRate' as const,
    },
    {
      key: 'Latency',
      ratio: 'latency_errors' as const,
      objective: c.slo.latency.objective,
      bad: `took longer than ${num(c.slo.latency.thresholdSeconds)}s`,
      panel: 'latencyBurnRate' as const,
    },
  ];
  const speeds = [
    { key: 'Fast', spec: c.slo.burnRates.fast, pace: 'fast' },
    { key: 'Slow', spec: c.slo.burnRates.slow, pace: 'steadily' },
  ];
  const alerts: AlertingRule[] = [];
  for (const slo of slos) {
    const budget = num(1 - slo.objective);
    for (const speed of speeds) {
      const branches = speed.spec.windows.map((w) => {
        const limit = `(${num(w.factor)} * ${budget})`;
        return [
          `max ${ctx.by('job')} (`,
          `  ${recordName(slo.ratio, w.long)}{${orchestrator}} > ${limit}`,
          '  and',
          `  ${recordName(slo.ratio, w.short)}{${orchestrator}} > ${limit}`,
          ')',
        ].join('\n');
      });
      const windows = speed.spec.windows
        .map((w) => `${ctx.range(w.long)}/${ctx.range(w.short)} at ${num(w.factor)}x`)
        .join(' or ');
      alerts.push(
        ctx.alert({
          name: `Orchestrator${slo.key}BudgetBurn${speed.key}`,
          expr: branches.join('\nor\n'),
          for: speed.spec.for,
          severity: speed.spec.severity,
          component: 'orchestrator',
          summary: `The orchestrator is burning its ${slo.key.toLowerCase()} error budget ${speed.pace}.`,
          description: `{{ $value | humanizePercentage }} of the requests to job {{ $labels.job }} ${slo.bad} over the long window (${windows} the budget rate); the objective is ${num(slo.objective * 100)}%.`,
          panel: { dashboard: 'slo', panel: slo.panel },
        }),
      );
    }
  }
  return alerts;
}
