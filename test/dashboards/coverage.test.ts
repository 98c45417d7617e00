import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildAll } from '../../dashboards/all.ts';
import { alertPanels, type DashboardKey } from '../../platform/dashboards.ts';
import { panelsOf } from '../../dashboards/queries.ts';
import { alertRules, panelOfUrl } from '../../dashboards/rules.ts';
import { metricNames } from '../support/promql.ts';

const built = buildAll();

function exprs(panel: Panel): string[] {
  return ((panel.targets ?? []) as { expr?: string }[]).map((t) => t.expr ?? '');
}

function metricsOf(panel: Panel): Set<string> {
  return new Set(exprs(panel).flatMap((e) => [...metricNames(e)]));
}

const everyPanel = built.flatMap((b) =>
  panelsOf(b.dashboard).map((panel) => ({ uid: b.dashboard.uid!, panel })),
);

describe('every alert has a panel reading its metrics', () => {
  const alerts = alertRules();
  test.each(alerts.map((r) => [r.alert, r] as const))('%s', (_name, rule) => {
    const wanted = [...metricNames(rule.expr)];
    expect(wanted.length).toBeGreaterThan(0);
    const target = panelOfUrl(rule.annotations.dashboard_url);
    // The panel the alert links to shows all of the alert's metrics; without a link, any panel does.
    const candidates = target
      ? everyPanel.filter((p) => p.uid === target.uid && p.panel.id === target.panelId)
      : everyPanel;
    const covering = candidates.filter(({ panel }) => {
      const have = metricsOf(panel);
      return wanted.every((m) => have.has(m));
    });
    expect({ alert: rule.alert, metrics: wanted, covered: covering.length > 0 }).toEqual({
      alert: rule.alert,
      metrics: wanted,
      covered: true,
    });
  });
});

/** The seed's 6.1 key metrics, each with the overview panel that shows it and the metrics it must read. */
const KEY_METRICS: {
  metric: string;
  dashboard: DashboardKey;
  panel: number | string;
  reads: string[];
  /** A regular expression every listed query must match (per instance, per pool, ...). */
  shape?: RegExp;
}[] = [
  {
    metric: 'Request latency per instance',
    dashboard: 'overview',
    panel: 'Request latency p50 / p95 / p99 per instance',
    reads: ['orchestrator_http_request_duration_seconds_bucket'],
    shape: /histogram_quantile\(0\.\d+, sum by \(instance, le\)/,
  },
  {
    metric: 'Cache hit ratio',
    dashboard: 'overview',
    panel: alertPanels.overview.cacheHitRatio,
    reads: ['orchestrator_cache_lookups_total'],
    shape: /result="hit"|cache_hits/,
  },
  {
    metric: 'Cache miss ratio',
    dashboard: 'overview',
    panel: 'Cache lookups by result (hit / miss / stale / bypass / uncacheable / error)',
    reads: ['orchestrator_cache_lookups_total'],
    shape: /sum by \(result\)/,
  },
  {
    metric: 'Agent health status',
    dashboard: 'overview',
    panel: alertPanels.overview.agentPoolHealth,
    reads: ['orchestrator_agent_pool_healthy_instances', 'orchestrator_agent_pool_instances'],
  },
  {
    metric: 'Resource utilization (CPU)',
    dashboard: 'overview',
    panel: alertPanels.overview.orchestratorCpuOfLimit,
    reads: ['orchestrator_process_cpu_seconds_total', 'orchestrator_cpu_limit_cores'],
  },
  {
    metric: 'Resource utilization (memory)',
    dashboard: 'overview',
    panel: alertPanels.overview.orchestratorMemoryOfLimit,
    reads: ['orchestrator_process_resident_memory_bytes', 'orchestrator_memory_limit_bytes'],
  },
  {
    metric: 'Error rates',
    dashboard: 'overview',
    panel: alertPanels.overview.errorRate,
    reads: ['orchestrator_http_requests_total'],
    shape: /status=~"5\.\."|availability_errors/,
  },
  {
    metric: 'Queue lengths',
    dashboard: 'overview',
    panel: alertPanels.overview.queueLength,
    reads: ['orchestrator_queue_length'],
  },
];

test.each(KEY_METRICS.map((k) => [k.metric, k] as const))('seed 6.1 key metric "%s" has a panel', (_m, k) => {
  const board = built.find((b) => b.key === k.dashboard)!.dashboard;
  const panel = panelsOf(board).find((p) =>
    typeof k.panel === 'number' ? p.id === k.panel : p.title === k.panel,
  );
  expect(panel).toBeDefined();
  const have = metricsOf(panel!);
  for (const m of k.reads) expect([k.metric, m, have.has(m)]).toEqual([k.metric, m, true]);
  if (k.shape) for (const e of exprs(panel!)) expect(e).toMatch(k.shape);
});
