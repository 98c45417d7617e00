import type { AlertingRule, Context } from '../lib.ts';

/** One alert per scrape job: a target Prometheus cannot scrape, or a job with no target at all. */
export function targetAlerts(ctx: Context): AlertingRule[] {
  return ctx.config.targets.map((t) => {
    const job = ctx.job(t.job);
    const down = t.exporterUpMetric
      ? `min ${ctx.by('job', 'instance')} (up{${job}} == 0 or ${t.exporterUpMetric}{${job}} == 0)`
      : `up{${job}} == 0`;
    const what = t.exporterUpMetric
      ? `Prometheus cannot scrape its exporter, or the exporter cannot reach the server (${t.exporterUpMetric} = 0)`
      : 'Prometheus cannot scrape it';
    return ctx.alert({
      name: t.alert,
      // absent(): no target discovered in the namespace at all (every pod gone, or the scrape
      // configuration lost).
      expr: `
        ${down}
        or
        ${ctx.absent('up', t.job)} * 0`,
      for: t.for,
      severity: t.severity,
      component: t.component,
      summary: `A target of job ${t.job} is down or no target is discovered.`,
      description: `{{ if $labels.instance }}Target {{ $labels.instance }} of job {{ $labels.job }} is down: ${what}.{{ else }}Prometheus discovers no target of job {{ $labels.job }}.{{ end }}`,
      panel: { dashboard: 'overview', panel: 'targetsUp' },
    });
  });
}
