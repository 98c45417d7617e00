import { config } from '../../alerts/config.ts';
import { LATENCY_BUCKETS } from '../../services/kit/metrics.ts';
import { normalAlerts, readRuleFile, SEED_ALERTS, testFiles } from './helpers.ts';
import { outputs } from '../../alerts/render.ts';
import { selectors } from '../support/promql.ts';

const alerts = normalAlerts();

test('the seed alerts and the extra ones exist, each once', () => {
  const names = alerts.map((a) => a.alert);
  expect(new Set(names).size).toBe(names.length);
  expect(names).toEqual(
    expect.arrayContaining([
      ...SEED_ALERTS,
      'RedisNoPrimary',
      'RedisSentinelFailover',
      'OrchestratorCircuitBreakerOpen',
      'OrchestratorQueueBacklogGrowing',
      'LoadBalancerAllBackendsDown',
      'OrchestratorAvailabilityBudgetBurnFast',
      'OrchestratorAvailabilityBudgetBurnSlow',
      'OrchestratorLatencyBudgetBurnFast',
      'OrchestratorLatencyBudgetBurnSlow',
    ]),
  );
  // One target-down alert per scrape job.
  for (const job of Object.values(config.jobs)) {
    expect(
      alerts.filter((a) => a.alert.endsWith('TargetDown') && a.expr.includes(`up{job="${job}"}`)),
    ).toHaveLength(1);
  }
});

test.each(alerts.map((a) => [a.alert, a] as const))('%s follows the conventions', (name, alert) => {
  expect(name).toMatch(/^[A-Z][a-z0-9]+(?:[A-Z]+[a-z0-9]*)*$/);
  expect(['critical', 'warning', 'info']).toContain(alert.labels['severity']);
  expect(alert.annotations.summary).not.toContain('{{');
  expect(alert.annotations.summary).toMatch(/^[A-Z].*\.$/);
  expect(alert.annotations.description).toMatch(/\{\{ (?:if )?\$(?:labels|value)/);
  expect(alert.annotations.runbook_url).toBe(`${config.runbookBaseUrl}/runbooks/${name}.md`);
  expect(alert.annotations.dashboard_url).toMatch(/\/d\/[a-z0-9-]+\?viewPanel=\d+$/);
});

test('every selector of every rule names its job: no rule reads another deployment’s series', () => {
  const rules = readRuleFile(outputs.rules).flatMap((g) => g.rules);
  const unscoped = rules.flatMap((r) =>
    selectors(r.expr)
      .filter((s) => !s.matchers.some((m) => m.label === 'job'))
      .map((s) => `${'alert' in r ? r.alert : r.record}: ${s.text}`),
  );
  expect(unscoped).toEqual([]);
});

test('recording rules are named level:metric:operations', () => {
  const records = readRuleFile(outputs.rules)
    .flatMap((g) => g.rules)
    .flatMap((r) => ('record' in r ? [r.record] : []));
  expect(records.length).toBeGreaterThan(0);
  for (const name of records) expect(name).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
  expect(records).toEqual(
    expect.arrayContaining([
      'namespace_job:orchestrator_http_requests:rate5m',
      'namespace_job:orchestrator_availability_errors:ratio_rate1h',
      'namespace_job:orchestrator_latency_errors:ratio_rate3d',
    ]),
  );
});

test('the latency SLO threshold is a bucket boundary of the request duration histogram', () => {
  expect(LATENCY_BUCKETS).toContain(config.slo.latency.thresholdSeconds);
});

test('every alert has a firing case and a non-firing case in the promtool tests', () => {
  const firing = new Map<string, number>();
  const quiet = new Map<string, number>();
  for (const file of testFiles().values()) {
    for (const t of file.tests) {
      for (const a of t.alert_rule_test ?? []) {
        const tally = a.exp_alerts?.length ? firing : quiet;
        tally.set(a.alertname, (tally.get(a.alertname) ?? 0) + 1);
      }
    }
  }
  const missing = alerts.flatMap((a) => [
    ...(firing.get(a.alert) ? [] : [`${a.alert}: no firing case`]),
    ...(quiet.get(a.alert) ? [] : [`${a.alert}: no non-firing case`]),
  ]);
  expect(missing).toEqual([]);
});
