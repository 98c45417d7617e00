/**
 * Builder helpers every dashboard uses, on top of the Grafana Foundation SDK: the datasource and query
 * variables, one helper per panel kind (each takes its id, unit and thresholds), the PromQL target helper
 * (refId and the `${datasource}` datasource always set), rows, and the links between dashboards and from
 * alert panels to their runbooks.
 */
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type {
  Dashboard,
  DataTransformerConfig,
  Panel,
  RowPanel,
  ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import { alertPanels, dashboards, type DashboardKey } from '../platform/dashboards.ts';
import { MAX_CONNECTIONS } from '../platform/limits.ts';
import { runbookLinksByPanel } from './rules.ts';
import { config as alerts } from '../alerts/config.ts';
import { parseDuration } from '../alerts/duration.ts';
import {
  periodSampleWindow,
  rateRecordName,
  recordName,
  requestsRecordName,
  type RecordedRate,
} from '../alerts/rules/slo.ts';

export { alertPanels, dashboards };

/** The alerts' configuration (thresholds, windows, objectives, jobs): read, never changed, here. */
export { alerts };

/** Names of the alerts' recording rules (`namespace_job:orchestrator_<ratio>:ratio_rate<window>`). */
export const recorded = recordName;
export const recordedRequests = requestsRecordName;
/** The recorded rates (`namespace_job:orchestrator_<what>:rate<window>`) and the window the SLO period sums. */
export const recordedRate = rateRecordName;
export const SLO_SAMPLE_WINDOW = periodSampleWindow(alerts);
export type { RecordedRate };
export type { DashboardKey };

/** Every dashboard carries this tag; the links block lists the dashboards that have it. */
export const TAG = 'phoenix-orch';

/** The one datasource every panel and query reads: the dashboard's `datasource` variable. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/**
 * The numbers the panels draw as thresholds: the alerts' own (`alerts/config.ts`, the seed's 6.3), so a
 * line crossing a threshold is what an alert fires on.
 */
export const THRESHOLDS = {
  /** CPU and memory above 80% of the instance's limit. */
  resourceOfLimit: alerts.resources.threshold,
  /** An event loop busy more than 90% of the time. */
  eventLoopUtilisation: alerts.eventLoop.utilisation,
  /** More than 1% of requests failing. */
  errorRatio: alerts.errorRate.threshold,
  /** Cache hit ratio below 50%. */
  cacheHitRatio: alerts.cacheHitRatio.threshold,
  /** Redis replication lag above 10 s. */
  replicationLagSeconds: alerts.redisReplicationLag.thresholdSeconds,
  /** The queue-backlog alert also wants the oldest unfinished task older than this. */
  queueOldestAgeSeconds: parseDuration(alerts.queueBacklog.minOldestAge),
  /** Connections of one orchestrator behind the load balancer: HAProxy `maxconn` per server. */
  serverMaxconn: MAX_CONNECTIONS,
} as const;

/** The SLO objectives and burn-rate windows of the alerts. */
export const SLO = alerts.slo;

/** Prometheus job of each component. */
export const JOBS = alerts.jobs;

/** Selector of client traffic (probes and scrapes left out), as the error-rate alert and the SLIs use it. */
export const API_ROUTES = `route!~"${alerts.nonClientRoutes}"`;

// ---------------------------------------------------------------------------------------------------
// Scope: every query reads one installation of the bundle, and names its job

/** Every job of the bundle (the namespaces offered are those where one of them runs). */
const BUNDLE_JOBS = Object.values(JOBS);

/**
 * The chosen installation: the `cluster` and `namespace` variables. A Prometheus whose series have no
 * cluster label offers none, and "All" (`.*`) also matches a missing label.
 */
export const INSTALLATION = `${alerts.clusterLabel}=~"$cluster", namespace=~"$namespace"`;

/** `job="<job>"` (or `job=~"a|b"`) of the bundle in the chosen installation: how every selector starts. */
export function scope(...jobs: string[]): string {
  const job = jobs.length === 1 ? `job="${jobs[0]}"` : `job=~"${jobs.join('|')}"`;
  return `${job}, ${INSTALLATION}`;
}

/** The three agent pools' jobs. */
export const AGENT_JOBS = [JOBS.gitAgent, JOBS.llmRouter, JOBS.obsidianAgent];

// ---------------------------------------------------------------------------------------------------
// Panel ids

/** Every id the catalog fixes, on any dashboard: ordinary panels never take one of them. */
const reservedIds = new Set<number>(
  Object.values(alertPanels).flatMap((panels) => Object.values(panels as Record<string, number>)),
);

/** Hands out the ids of a dashboard's ordinary panels and rows (see panelIds). */
export type Ids = () => number;

/** Hands out the ids of a dashboard's ordinary panels and rows: 1, 2, 3, ... skipping the catalog's. */
export function panelIds(): Ids {
  let next = 1;
  return () => {
    while (reservedIds.has(next)) next++;
    return next++;
  };
}

// ---------------------------------------------------------------------------------------------------
// Variables

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

function queryVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
}

/**
 * A multi-value variable over one label's values (`label_values(<series>, <label>)`), "All" = `.*`.
 * `series` is a scoped selector (`orchestrator_ready{${scope(JOBS.orchestrator)}}`).
 */
export function labelVariable(name: string, label: string, series: string): QueryVariableBuilder {
  return queryVariable(name, label, `label_values(${series}, ${name})`)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

/** The clusters where the bundle runs, if the series carry a cluster label (a Thanos or Mimir view). */
export function clusterVariable(): QueryVariableBuilder {
  const jobs = `job=~"${BUNDLE_JOBS.join('|')}"`;
  return queryVariable('cluster', 'Cluster', `label_values(up{${jobs}}, ${alerts.clusterLabel})`)
    .multi(false)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

/** One installation: the namespaces where a job of the bundle runs, the configured one first chosen. */
export function namespaceVariable(): QueryVariableBuilder {
  const jobs = `job=~"${BUNDLE_JOBS.join('|')}", ${alerts.clusterLabel}=~"$cluster"`;
  return queryVariable('namespace', 'Namespace', `label_values(up{${jobs}}, namespace)`)
    .multi(false)
    .includeAll(false)
    .current({ text: alerts.namespace, value: alerts.namespace });
}

// ---------------------------------------------------------------------------------------------------
// Queries

/** One PromQL query of a panel. `legend` is Grafana's legend format (`{{instance}}`). */
export interface Query {
  expr: string;
  legend?: string;
  /** Instant query (stat and table panels that show the current value). */
  instant?: boolean;
  /** Table format: one row per series, labels as columns. */
  table?: boolean;
  /** A unit of its own (drawn on a right-hand axis in time series), when it differs from the panel's. */
  unit?: string;
}

export function q(expr: string, legend?: string, unit?: string): Query {
  const query: Query = { expr };
  if (legend !== undefined) query.legend = legend;
  if (unit !== undefined) query.unit = unit;
  return query;
}

/** The same query run as an instant query (the value now), for stats over a long fixed window. */
export function instant(query: Query): Query {
  return { ...query, instant: true };
}

/** The refId of the n-th query of a panel: A, B, C, ... */
export function refId(index: number): string {
  return String.fromCharCode(65 + index);
}

/** A Prometheus target with its refId and the `${datasource}` datasource always set. */
export function promTarget(query: Query, index: number): DataqueryBuilder {
  const target = new DataqueryBuilder().refId(refId(index)).datasource(DATASOURCE).expr(query.expr);
  if (query.legend !== undefined) target.legendFormat(query.legend);
  if (query.instant) target.instant();
  else target.range();
  if (query.table) target.format(PromQueryFormat.Table);
  return target;
}

/** `rate(<selector>[$__rate_interval])`. */
export function rate(selector: string): string {
  return `rate(${selector}[$__rate_interval])`;
}

/** `histogram_quantile(q, sum by (<by>, le) (rate(<histogram>_bucket{<filter>}[$__rate_interval])))`. */
export function quantile(q: number, histogram: string, filter: string, by: string[]): string {
  const groups = [...by, 'le'].join(', ');
  const series = filter ? `${histogram}_bucket{${filter}}` : `${histogram}_bucket`;
  return `histogram_quantile(${q}, sum by (${groups}) (${rate(series)}))`;
}

/** p50, p95 and p99 of a histogram, one query each, legend `p95 {{<by>}}`. */
export function quantiles(histogram: string, filter: string, by: string[]): Query[] {
  const legend = by.map((l) => `{{${l}}}`).join(' ');
  return [0.5, 0.95, 0.99].map((p) =>
    q(quantile(p, histogram, filter, by), `p${Math.round(p * 100)}${legend ? ' ' + legend : ''}`),
  );
}

// ---------------------------------------------------------------------------------------------------
// Thresholds and value mappings

export interface Step {
  value: number | null;
  color: string;
}

/** Green below `warn`, red from `warn` (or orange from `warn` and red from `crit`). */
export function above(warn: number, crit?: number): Step[] {
  const steps: Step[] = [{ value: null, color: 'green' }];
  if (crit === undefined) steps.push({ value: warn, color: 'red' });
  else steps.push({ value: warn, color: 'orange' }, { value: crit, color: 'red' });
  return steps;
}

/** Red below `ok`, green from `ok`. */
export function below(ok: number): Step[] {
  return [
    { value: null, color: 'red' },
    { value: ok, color: 'green' },
  ];
}

/** Values shown as text with a colour (`{1: ['UP', 'green'], 0: ['DOWN', 'red']}`). */
export function valueText(map: Record<number, [string, string]>): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  Object.entries(map).forEach(([value, [text, color]], index) => {
    options[value] = { text, color, index };
  });
  return [{ type: MappingType.ValueToText, options }];
}

export const UP_DOWN = valueText({ 0: ['DOWN', 'red'], 1: ['UP', 'green'] });

// ---------------------------------------------------------------------------------------------------
// Panels

/** What every panel helper takes. */
export interface PanelOptions {
  id: number;
  title: string;
  description?: string;
  /** A Grafana unit id (`reqps`, `s`, `percentunit`, `bytes`, `short`, `suffix:tokens/s`, ...). */
  unit: string;
  queries: Query[];
  /** Grid width (of 24) and height. */
  width?: number;
  height?: number;
  thresholds?: Step[];
  mappings?: ValueMapping[];
  min?: number;
  max?: number;
  decimals?: number;
}

type AnyPanelBuilder =
  | timeseries.PanelBuilder
  | stat.PanelBuilder
  | gauge.PanelBuilder
  | table.PanelBuilder
  | statetimeline.PanelBuilder;

function configure<T extends AnyPanelBuilder>(panel: T, o: PanelOptions, width: number, height: number): T {
  panel
    .id(o.id)
    .title(o.title)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .span(o.width ?? width)
    .height(o.height ?? height)
    .targets(o.queries.map((query, i) => promTarget(query, i)));
  if (o.description !== undefined) panel.description(o.description);
  if (o.thresholds !== undefined) {
    panel.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(o.thresholds));
  }
  if (o.mappings !== undefined) panel.mappings(o.mappings);
  if (o.min !== undefined) panel.min(o.min);
  if (o.max !== undefined) panel.max(o.max);
  if (o.decimals !== undefined) panel.decimals(o.decimals);
  o.queries.forEach((query, i) => {
    if (query.unit === undefined) return;
    const properties = [{ id: 'unit', value: query.unit }];
    if (panel instanceof timeseries.PanelBuilder)
      properties.push({ id: 'custom.axisPlacement', value: 'right' });
    panel.overrideByQuery(refId(i), properties);
  });
  return panel;
}

function legend(): VizLegendOptionsBuilder {
  return new VizLegendOptionsBuilder()
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .showLegend(true)
    .calcs([]);
}

function lastValue(): ReduceDataOptionsBuilder {
  return new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
}

export interface TimeseriesOptions extends PanelOptions {
  /** Stack the series (normal) or show them as shares of 100% (percent). */
  stack?: 'normal' | 'percent';
  /** Draw the thresholds as dashed lines (default when thresholds are given). */
  thresholdLines?: boolean;
}

export function timeseriesPanel(o: TimeseriesOptions): timeseries.PanelBuilder {
  const panel = configure(new timeseries.PanelBuilder(), o, 12, 8)
    .lineWidth(1)
    .fillOpacity(o.stack ? 30 : 10)
    .showPoints(VisibilityMode.Never)
    .legend(legend())
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
  if (o.stack !== undefined) {
    panel.stacking(
      new StackingConfigBuilder().mode(o.stack === 'percent' ? StackingMode.Percent : StackingMode.Normal),
    );
  }
  if (o.thresholds !== undefined && o.thresholdLines !== false) {
    panel.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  }
  return panel;
}

export function statPanel(o: PanelOptions): stat.PanelBuilder {
  return configure(new stat.PanelBuilder(), o, 6, 4).reduceOptions(lastValue());
}

export function gaugePanel(o: PanelOptions): gauge.PanelBuilder {
  return configure(new gauge.PanelBuilder(), o, 6, 6).reduceOptions(lastValue());
}

/** A table of instant queries, one row per series; `hide` lists columns not shown. */
export function tablePanel(
  o: PanelOptions & { hide?: string[]; rename?: Record<string, string> },
): table.PanelBuilder {
  const queries = o.queries.map((query) => ({ ...query, instant: true, table: true }));
  const hidden: Record<string, boolean> = {};
  for (const column of ['Time', '__name__', ...(o.hide ?? [])]) hidden[column] = true;
  const organize: DataTransformerConfig = {
    id: 'organize',
    options: { excludeByName: hidden, renameByName: o.rename ?? {} },
  };
  return configure(new table.PanelBuilder(), { ...o, queries }, 24, 8)
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation(organize);
}

/** States over time (breakers, roles, server states): value mappings name the states. */
export function stateTimelinePanel(o: PanelOptions): statetimeline.PanelBuilder {
  return configure(new statetimeline.PanelBuilder(), o, 12, 6)
    .showValue(VisibilityMode.Never)
    .mergeValues(true)
    .legend(legend());
}

/** The build each instance runs (`<prefix>build_info`): package version, git commit, Node.js version. */
export function versionsPanel(o: {
  id: number;
  /** `orchestrator_` or `agent_`. */
  prefix: string;
  selector: string;
  /** The labels that name an instance (`instance`, or `pool` and `instance`). */
  by: string[];
  width?: number;
}): table.PanelBuilder {
  return tablePanel({
    id: o.id,
    title: 'Versions per instance',
    description: `The build each instance runs (${o.prefix}build_info): package version, git commit, Node.js. A rollout shows two commits side by side.`,
    unit: 'none',
    ...(o.width !== undefined ? { width: o.width } : {}),
    queries: [
      q(
        `max by (${[...o.by, 'version', 'commit', 'node_version'].join(', ')}) (${o.prefix}build_info{${o.selector}})`,
      ),
    ],
    hide: ['Value'],
  });
}

/** One series per `by` from a one-hot circuit-breaker state gauge: 0 closed, 1 half open, 2 open. */
export function breakerStateQuery(metric: string, by: string, selector: string): string {
  return `max by (${by}) (${metric}{${selector}, state="open"}) * 2\n  + max by (${by}) (${metric}{${selector}, state="half_open"})`;
}

export function row(id: number, title: string): RowBuilder {
  return new RowBuilder(title).id(id);
}

/** Any panel builder. */
export type PanelBuilder = Builder<Panel>;

/** One row of a dashboard and the panels under it, in order. */
export interface Section {
  row: RowBuilder;
  panels: PanelBuilder[];
}

/**
 * A row and its panels. Call it as `section(row(id(), 'Title'), panelA(id), panelB(id))`: arguments are
 * evaluated in order, so the row takes its id before its panels, as they appear on the dashboard.
 */
export function section(rowBuilder: RowBuilder, ...panels: PanelBuilder[]): Section {
  return { row: rowBuilder, panels };
}

// ---------------------------------------------------------------------------------------------------
// Dashboards

/**
 * A dashboard with its catalog uid and title, the tag, the links block (keeping the variables, so the
 * next dashboard opens on the same installation) and the datasource, cluster and namespace variables.
 */
export function newDashboard(key: DashboardKey, description: string): DashboardBuilder {
  const { uid, title } = dashboards[key];
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([TAG])
    .editable()
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .link(
      new DashboardLinkBuilder('phoenix-orch')
        .type(DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true)
        .targetBlank(false)
        .icon('external link')
        .tooltip('')
        .title('phoenix-orch dashboards'),
    )
    .withVariable(datasourceVariable())
    .withVariable(clusterVariable())
    .withVariable(namespaceVariable());
}

export function isPanel(panel: Panel | RowPanel): panel is Panel {
  return panel.type !== 'row';
}

/**
 * Lays out the sections on the dashboard, builds it, and gives each of its alert panels (catalog ids) a
 * link to the runbook of every alert whose `dashboard_url` opens that panel (runbook URLs exactly as the
 * alert rules carry them).
 */
export function finish(key: DashboardKey, builder: DashboardBuilder, sections: Section[]): Dashboard {
  for (const s of sections) {
    builder.withRow(s.row);
    for (const panel of s.panels) builder.withPanel(panel);
  }
  const built = builder.build();
  // The SDK defaults links to the controls menu (Grafana 12), which hides them: keep them in the header.
  for (const link of built.links ?? []) delete link.placement;
  const links = runbookLinksByPanel(dashboards[key].uid);
  for (const panel of (built.panels ?? []).filter(isPanel)) {
    const runbooks = links.get(panel.id ?? -1);
    if (!runbooks) continue;
    panel.links = runbooks.map(({ alert, url }) =>
      new DashboardLinkBuilder(`Runbook: ${alert}`)
        .type(DashboardLinkType.Link)
        .url(url)
        .targetBlank(true)
        .icon('doc')
        .tooltip(`What to do when ${alert} fires`)
        .tags([])
        .asDropdown(false)
        .includeVars(false)
        .keepTime(false)
        .build(),
    );
    for (const link of panel.links) delete link.placement;
  }
  return built;
}
