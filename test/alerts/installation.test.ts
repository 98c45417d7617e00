/**
 * Every alert and recording rule keeps the labels that tell installations apart (`namespace`, and
 * `cluster` where a ruler sees several clusters), read with Prometheus's own PromQL grammar: a rule
 * that aggregates them away, joins across them, or has an `absent()` without the namespace fails here.
 * The promtool cases check the same by running the rules (render.ts gives every input series both).
 */
import { config } from '../../alerts/config.ts';
import { installationLabels, type Rule } from '../../alerts/lib.ts';
import { outputs } from '../../alerts/render.ts';
import { keepsLabel, recordedLabels, resultLabels, type Labels } from '../support/promql.ts';
import { layout, loadOptions } from '../../stack/layout.ts';
import { prometheusConfig } from '../../stack/local-configs.ts';
import { readRuleFile } from './helpers.ts';

const [cluster] = installationLabels(config);

describe.each([outputs.rules, outputs.drillRules])('%s', (file) => {
  const rules: Rule[] = readRuleFile(file).flatMap((g) => g.rules);
  const recorded = recordedLabels(rules);
  const name = (r: Rule) => ('alert' in r ? r.alert : r.record);

  test('every rule keeps namespace', () => {
    const dropping = rules.filter((r) => !keepsLabel(r.expr, 'namespace', { recorded })).map(name);
    expect(dropping).toEqual([]);
  });

  test(`every rule keeps ${cluster} (but where absent() cannot know it)`, () => {
    const opts = { recorded, absentAlso: [cluster!] };
    const dropping = rules.filter((r) => !keepsLabel(r.expr, cluster!, opts)).map(name);
    expect(dropping).toEqual([]);
  });

  test('every absent() looks in the namespace', () => {
    for (const r of rules)
      for (const m of r.expr.matchAll(/absent\(([^)]*)\)/g))
        expect([name(r), m[1]]).toEqual([
          name(r),
          expect.stringContaining(`namespace="${config.namespace}"`),
        ]);
  });
});

test('the local stack gives every target the namespace the absent() branches look in', () => {
  const l = layout(loadOptions({ PHOENIX_STACK_DIR: '/nonexistent/phoenix-observe' }));
  const jobs = prometheusConfig(l, false).scrape_configs;
  for (const t of config.targets) {
    const job = jobs.find((j) => j.job_name === t.job)!;
    for (const c of job.static_configs)
      expect([t.job, c.labels['namespace']]).toEqual([t.job, config.namespace]);
  }
});

/** The label analysis itself, on expressions whose result labels Prometheus documents. */
describe('the label analysis', () => {
  const show = (l: Labels) =>
    l === 'scalar'
      ? 'scalar'
      : l.all
        ? `all but ${[...l.minus].sort().join(',')}`
        : [...l.only].sort().join(',');
  test.each([
    ['rate(x{job="a"}[5m])', 'all but '],
    ['sum by (job) (rate(x[5m]))', 'job'],
    ['sum by (cluster, namespace, job) (x)', 'cluster,job,namespace'],
    ['sum without (instance) (x)', 'all but instance'],
    ['sum(x)', ''],
    ['topk(3, x)', 'all but '],
    ['count_values("v", x)', 'v'],
    ['histogram_quantile(0.9, sum by (le, namespace) (rate(x_bucket[5m])))', 'namespace'],
    ['x / on (job, instance) group_left () y', 'all but '],
    ['x / on (job, instance) y', 'instance,job'],
    ['x > on (namespace, pool) y', 'namespace,pool'],
    ['x / ignoring (le) y', 'all but le'],
    ['sum by (pool) (x) and on (pool) y', 'pool'],
    ['x or sum by (namespace) (y)', 'namespace'],
    ['max by (a, b) (x) or max by (b, c) (y)', 'b'],
    ['absent(up{job="a", namespace="n", x=~"y"}) * 0', 'job,namespace'],
    ['count(x) or vector(0)', ''],
    ['(x > 0.5) * 2', 'all but '],
    ['label_replace(sum by (a) (x), "b", "$1", "a", "(.*)")', 'a,b'],
    ['time() - x{job="a"}', 'all but '],
    ['1 - sum_over_time(x[30d]) / sum_over_time(y[30d])', 'all but '],
  ])('%s keeps %s', (expr, expected) => {
    expect(show(resultLabels(expr))).toBe(expected);
  });

  test('a recorded series has its rule’s labels', () => {
    const recorded = recordedLabels([{ record: 'job:x:rate5m', expr: 'sum by (job) (rate(x[5m]))' }]);
    expect(keepsLabel('job:x:rate5m{job="a"} > 0.1', 'namespace', { recorded })).toBe(false);
    expect(keepsLabel('job:x:rate5m{job="a"} > 0.1', 'job', { recorded })).toBe(true);
  });

  test('a syntax error is an error, not an empty answer', () => {
    expect(() => resultLabels('sum by (job (x)')).toThrow(/syntax error/);
  });
});
