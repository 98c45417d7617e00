/**
 * What the manifests package from the generators: the dashboards (listed by
 * kustomize/package-dashboards.ts, since kustomize cannot glob), the rules, and the ready Prometheus
 * scrape file, which promtool checks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import {
  DASHBOARDS_DIR,
  configMapName,
  dashboardFiles,
  renderPackaging,
} from '../../kustomize/package-dashboards.ts';
import { DASHBOARD_FOLDER } from '../../platform/dashboards.ts';
import { ROOT, build, find, generated, ofKind, workloads } from './render.ts';

const run = promisify(execFile);

test('the dashboard packaging lists exactly the generated dashboards (npm run kustomize:dashboards)', async () => {
  for (const [file, text] of await renderPackaging()) {
    expect({ file: path.relative(ROOT, file), upToDate: readFileSync(file, 'utf8') === text }).toEqual({
      file: path.relative(ROOT, file),
      upToDate: true,
    });
  }
  expect(dashboardFiles().length).toBeGreaterThan(0);
});

test('every dashboard reaches Grafana in both monitoring set-ups', () => {
  const files = dashboardFiles();
  const operator = build('production');
  const standalone = build('dev-all-components');
  const grafana = workloads(standalone).find((w) => w.name === 'grafana')!;
  const projected = grafana.pod
    .volumes!.find((v) => v.name === 'dashboards')
    .projected.sources.map((s: { configMap: { name: string } }) => s.configMap.name);
  for (const f of files) {
    const json = readFileSync(path.join(DASHBOARDS_DIR, f), 'utf8');
    const cm = find(operator, 'ConfigMap', configMapName(f));
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(cm.data[f]).toBe(json);
    expect(find(standalone, 'ConfigMap', configMapName(f)).data[f]).toBe(json);
    expect(projected).toContain(configMapName(f));
    // Small enough for a client-side `kubectl apply` (its last-applied annotation holds the object).
    expect(Buffer.byteLength(json)).toBeLessThan(200 * 1024);
  }
});

test('each monitoring set-up gets the rules in its own form', () => {
  const rules = readFileSync(path.join(ROOT, 'kustomize/generated/rules/phoenix-orch.rules.yaml'), 'utf8');
  expect(ofKind(build('production'), 'PrometheusRule')).toHaveLength(1);
  expect(
    ofKind(build('production'), 'ConfigMap').some((c) => c.metadata.name.startsWith('prometheus-rules')),
  ).toBe(false);
  const standalone = build('dev-all-components');
  expect(ofKind(standalone, 'PrometheusRule')).toHaveLength(0);
  expect(generated(standalone, 'ConfigMap', 'prometheus-rules').data['phoenix-orch.rules.yaml']).toBe(rules);
});

test('promtool accepts the ready scrape file and the rules it loads', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'phoenix-promtool-'));
  try {
    const config = parse(
      readFileSync(
        path.join(ROOT, 'kustomize/components/monitoring-standalone/prometheus/prometheus.yml'),
        'utf8',
      ),
    ) as { rule_files: string[]; scrape_configs: Array<Record<string, unknown>> };
    expect(config.rule_files).toEqual(['/etc/prometheus/rules/*.yaml']);
    config.rule_files = [path.join(ROOT, 'kustomize/generated/rules/phoenix-orch.rules.yaml')];
    // Debian's promtool is built without Kubernetes discovery: swap it for a static target, keeping
    // every relabelling rule, so promtool still checks them.
    for (const job of config.scrape_configs) {
      if (job.kubernetes_sd_configs) {
        delete job.kubernetes_sd_configs;
        job.static_configs = [{ targets: ['127.0.0.1:1'] }];
      }
    }
    const file = path.join(dir, 'prometheus.yml');
    writeFileSync(file, stringify(config));
    let out: { stdout: string; stderr: string };
    try {
      out = await run('promtool', ['check', 'config', file]);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
      if (e.code === 'ENOENT')
        throw new Error('promtool is not installed (Debian: apt-get install prometheus)', { cause: err });
      throw new Error(`promtool rejected the scrape file:\n${e.stdout}\n${e.stderr}`, { cause: err });
    }
    expect(`${out.stdout}${out.stderr}`).toMatch(/SUCCESS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the dashboards land in their Grafana folder in both set-ups', () => {
  for (const f of dashboardFiles()) {
    for (const objects of [build('production'), build('dev-all-components')])
      expect(find(objects, 'ConfigMap', configMapName(f)).metadata.annotations).toMatchObject({
        grafana_folder: DASHBOARD_FOLDER,
        'k8s-sidecar-target-directory': DASHBOARD_FOLDER,
      });
  }
  const provider = parse(
    readFileSync(
      path.join(ROOT, 'kustomize/components/monitoring-standalone/grafana/dashboards.yaml'),
      'utf8',
    ),
  ) as { providers: Array<{ folder: string }> };
  expect(provider.providers.map((p) => p.folder)).toEqual([DASHBOARD_FOLDER]);
});

/** A relabelling that copies one source label into a target label, as both formats write it. */
const copies = (rules: Array<Record<string, unknown>>, source: string, target: string) =>
  rules.some(
    (r) =>
      JSON.stringify(r['sourceLabels'] ?? r['source_labels']) === JSON.stringify([source]) &&
      (r['targetLabel'] ?? r['target_label']) === target &&
      (r['action'] ?? 'replace') === 'replace' &&
      r['regex'] === undefined,
  );

test('every PodMonitor names its targets by their pod (instance = pod name)', () => {
  const endpoints = ofKind(build('production'), 'PodMonitor').flatMap((pm) =>
    (pm.spec.podMetricsEndpoints as Array<{ port: string; relabelings: Array<Record<string, unknown>> }>).map(
      (e) => ({ at: `${pm.metadata.name}:${e.port}`, relabelings: e.relabelings }),
    ),
  );
  expect(endpoints.length).toBeGreaterThanOrEqual(8);
  for (const e of endpoints)
    expect([e.at, copies(e.relabelings, '__meta_kubernetes_pod_name', 'instance')]).toEqual([e.at, true]);
});

test('the standalone scrape file names every pod target by its pod and gives it its namespace', () => {
  const config = parse(
    readFileSync(
      path.join(ROOT, 'kustomize/components/monitoring-standalone/prometheus/prometheus.yml'),
      'utf8',
    ),
  ) as { scrape_configs: Array<{ job_name: string; kubernetes_sd_configs?: unknown; relabel_configs?: [] }> };
  const pods = config.scrape_configs.filter((j) => j.kubernetes_sd_configs);
  expect(pods.length).toBeGreaterThanOrEqual(8);
  for (const j of pods) {
    const rules = j.relabel_configs ?? [];
    expect([j.job_name, copies(rules, '__meta_kubernetes_pod_name', 'instance')]).toEqual([j.job_name, true]);
    expect([j.job_name, copies(rules, '__meta_kubernetes_namespace', 'namespace')]).toEqual([
      j.job_name,
      true,
    ]);
  }
});
