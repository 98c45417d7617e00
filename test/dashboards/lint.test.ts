/**
 * The dashboards checked in the spirit of Grafana's dashboard-linter (its rule names in brackets),
 * every query read with Prometheus's own PromQL grammar: a datasource variable, the installation's
 * variables (cluster, namespace) and every query scoped by them and by its job, `$__rate_interval`
 * rather than fixed rate windows, counters only through rate functions, units, unique panel ids.
 */
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { config as alerts } from '../../alerts/config.ts';
import { buildAll } from '../../dashboards/all.ts';
import { panelsOf } from '../../dashboards/queries.ts';
import { selectors, type Selector } from '../support/promql.ts';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const INSTALLATION = { [alerts.clusterLabel]: '$cluster', namespace: '$namespace' };

/**
 * Series that cannot name a job: alerts (ALERTS carries the alert's labels, the namespace among them)
 * and Artillery's results, pushed under the job of the run (load/README.md).
 */
const NO_JOB = [/^ALERTS$/, /^artillery_/];
/** Counters, histogram buckets and sums: read only as rates. */
const COUNTER = /_(total|bucket|count|sum)$/;

type Target = { refId?: string; expr?: string; datasource?: unknown; instant?: boolean };
const targets = (p: Panel) => (p.targets ?? []) as Target[];
const where = (d: Dashboard, p: Panel, t?: Target) => `${d.uid} "${p.title}"${t ? ` ${t.refId}` : ''}`;

/** Every selector of every query of a dashboard, with where it is. */
function selectorsOf(d: Dashboard): { at: string; instant: boolean; s: Selector }[] {
  return panelsOf(d).flatMap((p) =>
    targets(p).flatMap((t) =>
      selectors(t.expr!).map((s) => ({ at: where(d, p, t), instant: t.instant === true, s })),
    ),
  );
}

const queryVariables = (d: Dashboard) =>
  (d.templating?.list ?? []).filter((v): v is VariableModel & { query: string } => v.type === 'query');
const variableQuery = (v: { query?: unknown }) =>
  /^label_values\((.*), \w+\)$/.exec(String(v.query))?.[1] ?? '';

describe.each(buildAll().map((b) => [b.key, b.dashboard] as const))('dashboard %s', (_key, board) => {
  const found = selectorsOf(board);

  test('[template-datasource-rule] a prometheus `datasource` variable first, no hard-coded datasource', () => {
    const variables = board.templating?.list ?? [];
    expect(variables[0]).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' });
    for (const v of queryVariables(board)) expect([v.name, v.datasource]).toEqual([v.name, DATASOURCE]);
    expect(JSON.stringify(board)).not.toMatch(/\$\{?DS_|__inputs/);
  });

  test('[template-*-rule] cluster and namespace variables next; the namespace one starts on the configured namespace', () => {
    const names = (board.templating?.list ?? []).map((v) => v.name);
    expect(names.slice(0, 3)).toEqual(['datasource', 'cluster', 'namespace']);
    const namespace = queryVariables(board).find((v) => v.name === 'namespace')!;
    expect(namespace).toMatchObject({ multi: false, includeAll: false });
    expect(namespace.current).toMatchObject({ value: alerts.namespace });
  });

  test('every variable query is scoped: jobs of the bundle, the cluster, and the namespace below it', () => {
    for (const v of queryVariables(board)) {
      const [s] = selectors(variableQuery(v));
      expect([v.name, s]).toEqual([v.name, expect.anything()]);
      const labels = s!.matchers.map((m) => m.label);
      expect([v.name, labels]).toEqual([v.name, expect.arrayContaining(['job'])]);
      if (v.name !== 'cluster') {
        expect([v.name, labels]).toEqual([v.name, expect.arrayContaining([alerts.clusterLabel])]);
        if (v.name !== 'namespace')
          expect([v.name, labels]).toEqual([v.name, expect.arrayContaining(['namespace'])]);
      }
    }
  });

  test('every variable is used: by a query, or by the variables below it', () => {
    const text = JSON.stringify([
      ...panelsOf(board).flatMap((p) => targets(p).map((t) => t.expr)),
      ...queryVariables(board).map((v) => v.query),
    ]);
    for (const v of board.templating?.list ?? [])
      if (v.name !== 'datasource') expect([v.name, text.includes(`$${v.name}`)]).toEqual([v.name, true]);
  });

  test('[target-job-rule, target-instance-rule] every selector reads one installation and names its job', () => {
    expect(found.length).toBeGreaterThan(0);
    const unscoped = found.flatMap(({ at, s }) => {
      const matcher = (label: string) => s.matchers.find((m) => m.label === label);
      const problems = Object.entries(INSTALLATION)
        .filter(([label, variable]) => {
          const m = matcher(label);
          return !(m && m.op === '=~' && m.value === variable);
        })
        .map(([label, variable]) => `no ${label}=~"${variable}"`);
      if (!NO_JOB.some((re) => re.test(s.metric)) && !matcher('job')) problems.push('no job');
      return problems.map((p) => `${at}: ${s.text}: ${p}`);
    });
    expect(unscoped).toEqual([]);
  });

  test('[target-rate-interval-rule] rates over $__rate_interval, never a fixed window', () => {
    const fixed = found.flatMap(({ at, instant, s }) => {
      if (!s.range || !['rate', 'irate', 'increase', 'delta', 'deriv'].includes(s.range.fn)) return [];
      // An instant stat may count what happened in the dashboard's time range.
      const allowed =
        instant && s.range.fn === 'increase' ? ['$__rate_interval', '$__range'] : ['$__rate_interval'];
      return allowed.includes(s.range.window) ? [] : [`${at}: ${s.range.fn}(${s.text}[${s.range.window}])`];
    });
    expect(fixed).toEqual([]);
  });

  test('[target-counter-agg-rule] counters are read only through rate(), irate() or increase()', () => {
    const raw = found.flatMap(({ at, s }) =>
      COUNTER.test(s.metric) && !['rate', 'irate', 'increase'].includes(s.range?.fn ?? '')
        ? [`${at}: ${s.text}`]
        : [],
    );
    expect(raw).toEqual([]);
  });

  test('[panel-units-rule, panel-datasource-rule] every panel has a unit and reads ${datasource}; every query has its own refId', () => {
    for (const panel of panelsOf(board)) {
      const at = where(board, panel);
      expect([at, panel.fieldConfig?.defaults?.unit]).toEqual([at, expect.stringMatching(/.+/)]);
      expect([at, panel.datasource]).toEqual([at, DATASOURCE]);
      expect([at, targets(panel).length > 0]).toEqual([at, true]);
      const refIds = targets(panel).map((t) => t.refId);
      for (const t of targets(panel)) {
        expect([at, t.refId, t.datasource]).toEqual([at, t.refId, DATASOURCE]);
        expect([at, t.refId]).toEqual([at, expect.stringMatching(/^[A-Z]$/)]);
      }
      expect([at, new Set(refIds).size]).toEqual([at, refIds.length]);
    }
  });

  test('[panel-title-description-rule] every panel has a title; no title or description holds an unfilled ${...}', () => {
    for (const panel of panelsOf(board)) {
      const at = where(board, panel);
      expect([at, (panel.title ?? '').length > 0]).toEqual([at, true]);
      expect([at, `${panel.title} ${panel.description ?? ''}`]).toEqual([
        at,
        expect.not.stringContaining('${'),
      ]);
    }
  });

  test('[panel-id-rule] every panel and row has an id, unique in the dashboard', () => {
    const all: (Panel | RowPanel)[] = (board.panels ?? []).flatMap((p) =>
      p.type === 'row' ? [p, ...((p as RowPanel).panels ?? [])] : [p],
    );
    const ids = all.map((p) => p.id);
    for (const id of ids) expect(typeof id).toBe('number');
    expect(new Set(ids).size).toBe(ids.length);
  });
});
