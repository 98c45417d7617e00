import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { config } from '../../alerts/config.ts';
import { parseDuration } from '../../alerts/duration.ts';
import type { RuleGroup } from '../../alerts/lib.ts';
import { outputs } from '../../alerts/render.ts';
import { alertsOf, readRuleFile, ROOT, run, SEED_ALERTS } from './helpers.ts';

test('no generated alerting file is stale (npm run alerts:check)', async () => {
  // GRAFANA_URL changes every dashboard_url: the committed files are made without it.
  const env = { ...process.env };
  delete env['GRAFANA_URL'];
  const result = await run(process.execPath, ['alerts/generate.ts', '--check'], { env });
  if (result.code !== 0) throw new Error(result.stderr);
  expect(result.stdout).toContain('up to date');
});

test('the ConfigMap rule file is the Prometheus rule file', () => {
  const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
  expect(read(outputs.configMapRules)).toBe(read(outputs.rules));
});

test('the PrometheusRule carries the rules, the namespace and the selector labels', () => {
  const rule = parse(readFileSync(join(ROOT, outputs.prometheusRule), 'utf8')) as {
    apiVersion: string;
    kind: string;
    metadata: { namespace: string; labels: Record<string, string> };
    spec: { groups: RuleGroup[] };
  };
  expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
  expect(rule.kind).toBe('PrometheusRule');
  expect(rule.metadata.namespace).toBe('phoenix-orch');
  expect(rule.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
  expect(rule.metadata.labels).toMatchObject(config.ruleSelectorLabels);
  expect(rule.spec.groups).toEqual(readRuleFile(outputs.rules));
});

const ranges = (expr: string) => [...expr.matchAll(/\[(\d+[smhdw][0-9smhdw]*)\]/g)].map((m) => m[1] ?? '');

test('drill mode: same rules, every window and for divided by the factor, never below the floors', () => {
  const normal = readRuleFile(outputs.rules).flatMap((g) => g.rules);
  const drill = readRuleFile(outputs.drillRules).flatMap((g) => g.rules);
  const { factor, minRange, minFor } = config.drill;
  const scaled = (d: string, floor: string) =>
    Math.max(parseDuration(floor), Math.round(parseDuration(d) / factor));
  expect(drill.map((r) => ('alert' in r ? r.alert : r.record))).toEqual(
    normal.map((r) => ('alert' in r ? r.alert : r.record)),
  );
  normal.forEach((rule, i) => {
    const twin = drill[i]!;
    const windows = ranges(rule.expr);
    expect(ranges(twin.expr).map(parseDuration)).toEqual(windows.map((w) => scaled(w, minRange)));
    for (const w of ranges(twin.expr)) expect(parseDuration(w)).toBeGreaterThanOrEqual(20);
    if ('alert' in rule && 'alert' in twin) {
      if (rule.for === undefined) expect(twin.for).toBeUndefined();
      else {
        expect(parseDuration(twin.for!)).toBe(scaled(rule.for, minFor));
        expect(parseDuration(twin.for!)).toBeGreaterThanOrEqual(10);
      }
      expect(twin.labels).toEqual(rule.labels);
    }
  });
});

test('drill mode: every seed alert can fire within a minute of a fault (window + for <= 60s)', () => {
  const groups = readRuleFile(outputs.drillRules);
  const records = new Map(
    groups.flatMap((g) => g.rules).flatMap((r) => ('record' in r ? [[r.record, r.expr] as const] : [])),
  );
  const drill = alertsOf(groups);
  for (const name of SEED_ALERTS) {
    const rule = drill.find((r) => r.alert === name);
    expect(rule).toBeDefined();
    // The windows of the alert's own expression and of the recording rules it reads.
    const used = [...records.keys()].filter((record) => rule!.expr.includes(record));
    const windows = [rule!.expr, ...used.map((r) => records.get(r)!)].flatMap(ranges).map(parseDuration);
    expect(Math.max(0, ...windows) + parseDuration(rule!.for ?? '0s')).toBeLessThanOrEqual(60);
  }
});
