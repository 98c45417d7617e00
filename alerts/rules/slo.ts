import { parseDuration } from '../duration.ts';
import { num, type AlertingRule, type Context, type RecordingRule } from '../lib.ts';

/**
 * Recording rules (`level:metric:operations`, named after the nominal window in both modes) and the
 * multi-window, multi-burn-rate alerts of the Google SRE workbook, chapter 5, for two SLOs of the
 * orchestrator's client traffic: availability (not 5xx) and latency (answered within a bucket bound).
 */

type Ratio = 'availability_errors' | 'latency_errors' | 'cache_hits';

export const requestsRecordName = (window: string) => `job:orchestrator_http_requests:rate${window}`;
export const recordName = (ratio: Ratio, window: string) => `job:orchestrator_${ratio}:ratio_rate${window}`;

const byDuration = (windows: Iterable<string>) =>
  [...new Set(windows)].sort((a, b) => parseDuration(a) - parseDuration(b));

function sloWindows(ctx: Context): string[] {
  const { fast, slow } = ctx.config.slo.burnRates;
  return byDuration([...fast.windows, ...slow.windows].flatMap((w) => [w.long, w.short]));
}

export function recordingRules(ctx: Context): RecordingRule[] {
  const c = ctx.config;
  const client = `${ctx.job(c.jobs.orchestrator)}, route!~"${c.nonClientRoutes}"`;
  const le = num(c.slo.latency.thresholdSeconds);
  const rules: RecordingRule[] = [];
  const availabilityWindows = byDuration([...sloWindows(ctx), c.errorRate.window]);
  for (const w of availabilityWindows) {
    const range = ctx.range(w);
    rules.push({
      record: requestsRecordName(w),
      expr: `sum by (job) (rate(orchestrator_http_requests_total{${client}}[${range}]))`,
    });
    // `or 0 * ...`: the ratio is 0, not absent, while traffic flows without a single 5xx yet.
    rules.push({
      record: recordName('availability_errors', w),
      expr: [
        '(',
        `  sum by (job) (rate(orchestrator_http_requests_total{${client}, status=~"5.."}[${range}]))`,
        `  or 0 * ${requestsRecordName(w)}`,
        ')',
        `/ (${requestsRecordName(w)} > 0)`,
      ].join('\n'),
    });
  }
  for (const w of sloWindows(ctx)) {
    const range = ctx.range(w);
    const count = `sum by (job) (rate(orchestrator_http_request_duration_seconds_count{${client}}[${range}]))`;
    rules.push({
      record: recordName('latency_errors', w),
      expr: [
        '(',
        `  ${count}`,
        `  - sum by (job) (rate(orchestrator_http_request_duration_seconds_bucket{${client}, le="${le}"}[${range}]))`,
        ')',
        `/ (${count} > 0)`,
      ].join('\n'),
    });
  }
  const lookups = (result: string) =>
    `sum by (job) (rate(orchestrator_cache_lookups_total{${ctx.job(c.jobs.orchestrator)}, result=~"${result}"}[${ctx.range(c.cacheHitRatio.window)}]))`;
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
          'max by (job) (',
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
