/**
 * The files that cannot import platform/ (env files, YAML manifests) say what platform/ says, and every
 * service metric a dashboard or an alert reads is one platform/metrics.ts defines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import client from 'prom-client';
import { buildAll } from '../../dashboards/all.ts';
import { panelsOf } from '../../dashboards/queries.ts';
import { alertRules } from '../../dashboards/rules.ts';
import { FILES, fromRoot } from '../../platform/files.ts';
import { HEARTBEAT, MAX_CONNECTIONS } from '../../platform/limits.ts';
import { METRIC_PREFIX, serviceMetricNames } from '../../platform/metrics.ts';
import { POOL_LIST } from '../../platform/pools.ts';
import { JOBS, ORCHESTRATOR, REDIS } from '../../platform/workloads.ts';
import { readSharedEnv } from '../../stack/local-configs.ts';
import { metricNames } from '../support/promql.ts';

const yamlFile = (file: string) => parse(readFileSync(fromRoot(file), 'utf8')) as Record<string, unknown>;

test('the shared env file sets the limits and names platform/ holds', () => {
  expect(readSharedEnv()).toMatchObject({
    MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    HEARTBEAT_INTERVAL_MS: String(HEARTBEAT.intervalMs),
    HEARTBEAT_TTL_MS: String(HEARTBEAT.ttlMs),
    REDIS_MASTER_NAME: REDIS.masterName,
  });
});

test("the base kustomization gives the orchestrators each pool's Service URL", () => {
  const base = yamlFile('kustomize/base/kustomization.yaml') as {
    configMapGenerator: Array<{ name: string; literals?: string[] }>;
  };
  const literals = base.configMapGenerator.flatMap((g) => g.literals ?? []);
  for (const p of POOL_LIST) expect(literals).toContain(`${p.urlEnv}=${p.clusterUrl}`);
});

test('the standalone Prometheus scrapes every job platform/ names, the seed job kept to orchestrator_*', () => {
  const config = yamlFile('kustomize/components/monitoring-standalone/prometheus/prometheus.yml') as {
    scrape_configs: Array<{
      job_name: string;
      relabel_configs?: Array<{ regex?: string }>;
      metric_relabel_configs?: Array<{ regex?: string }>;
    }>;
  };
  const jobs = config.scrape_configs.map((j) => j.job_name);
  expect(jobs).toEqual(expect.arrayContaining(Object.values(JOBS)));
  const seed = config.scrape_configs.find((j) => j.job_name === JOBS.orchestrator)!;
  expect(seed.relabel_configs![0]!.regex).toBe(ORCHESTRATOR.service);
  expect(seed.metric_relabel_configs![0]!.regex).toBe(`${ORCHESTRATOR.metricPrefix}.*`);
  for (const p of POOL_LIST) {
    const job = config.scrape_configs.find((j) => j.job_name === p.job)!;
    expect(job.relabel_configs![0]!.regex).toBe(`${p.service};http`);
  }
});

test('the PodMonitors set job to the names platform/ holds, each pool selected by its app label', () => {
  const docs = parseAllDocuments(
    readFileSync(fromRoot('kustomize/components/monitoring-operator/podmonitors.yaml'), 'utf8'),
  ).map(
    (d) =>
      d.toJS() as {
        spec: {
          selector: { matchLabels: { app: string } };
          podMetricsEndpoints: Array<{ relabelings: Array<{ targetLabel: string; replacement?: string }> }>;
        };
      },
  );
  const jobOf = (e: { relabelings: Array<{ targetLabel: string; replacement?: string }> }) =>
    e.relabelings.find((r) => r.targetLabel === 'job')?.replacement;
  const jobs = docs.flatMap((d) => d.spec.podMetricsEndpoints.map(jobOf));
  expect(jobs.sort()).toEqual(Object.values(JOBS).sort());
  for (const p of POOL_LIST) {
    const pm = docs.find((d) => d.spec.podMetricsEndpoints.some((e) => jobOf(e) === p.job))!;
    expect(pm.spec.selector.matchLabels.app).toBe(p.service);
  }
});

test('the generated-file paths platform/ names exist', () => {
  for (const file of Object.values(FILES)) expect([file, existsSync(fromRoot(file))]).toEqual([file, true]);
});

describe('every service metric the dashboards and alerts read is defined in platform/metrics.ts', () => {
  const exported = new Set(serviceMetricNames());
  // prom-client's default metrics, under each service prefix.
  for (const prefix of Object.values(METRIC_PREFIX)) {
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix });
    for (const m of registry.getMetricsAsArray()) exported.add(m.name);
  }
  const known = (name: string) =>
    exported.has(name) || exported.has(name.replace(/_(bucket|count|sum)$/, ''));
  const isServiceMetric = (name: string) =>
    Object.values(METRIC_PREFIX).some((prefix) => name.startsWith(prefix));

  const read = new Map<string, string>();
  for (const { dashboard } of buildAll()) {
    for (const panel of panelsOf(dashboard)) {
      for (const t of (panel.targets ?? []) as { expr?: string }[]) {
        for (const name of metricNames(t.expr ?? ''))
          read.set(name, `dashboard ${dashboard.uid}: ${panel.title}`);
      }
    }
  }
  for (const rule of alertRules())
    for (const name of metricNames(rule.expr)) read.set(name, `alert ${rule.alert}`);
  const serviceMetrics = [...read].filter(([name]) => isServiceMetric(name));

  test('the dashboards and alerts read service metrics', () => {
    expect(serviceMetrics.length).toBeGreaterThan(30);
  });
  test.each(serviceMetrics)('%s (%s)', (name) => {
    expect(known(name)).toBe(true);
  });
});
