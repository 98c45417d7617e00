/**
 * SLOs of the orchestrator's client traffic, as the alerts define them (`alerts/config.ts` slo): an
 * availability SLI (requests not answered 5xx) and a latency SLI (requests answered within a histogram
 * bucket bound), each against its objective, the error budget left, and the burn rates the multi-window,
 * multi-burn-rate alerts read (the alerts' recording rules `namespace_job:orchestrator_*:ratio_rate<window>`).
 * The period's shares are sums over the period of the rates the rules record, not `increase()` of the
 * raw counters: Prometheus must keep those series for the period (alerts/README.md, "Retention").
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { parseDuration } from '../alerts/duration.ts';
import {
  API_ROUTES,
  JOBS,
  SLO,
  below,
  finish,
  alertPanels,
  instant,
  newDashboard,
  panelIds,
  q,
  quantile,
  recorded,
  recordedRate,
  recordedRequests,
  scope,
  SLO_SAMPLE_WINDOW,
  row,
  section,
  statPanel,
  timeseriesPanel,
  type Ids,
  type Query,
  type RecordedRate,
  type Section,
  type Step,
} from './common.ts';

const ids = alertPanels.slo;

/** The period the objectives hold over (`alerts/config.ts`; the burn-rate factors assume 30 days). */
export const SLO_PERIOD = SLO.period;

const job = scope(JOBS.orchestrator);
const client = `${job}, ${API_ROUTES}`;
/** The latency bound as the histogram's `le` label writes it. */
const le = String(SLO.latency.thresholdSeconds);

/** Every burn-rate window of the alerts, shortest first, with the alerts (speed and factor) reading it. */
function burnWindows(): { window: string; uses: string[]; factors: number[] }[] {
  const byWindow = new Map<string, { uses: string[]; factors: number[] }>();
  for (const [speed, spec] of Object.entries(SLO.burnRates)) {
    for (const w of spec.windows) {
      for (const window of [w.long, w.short]) {
        const entry = byWindow.get(window) ?? { uses: [], factors: [] };
        entry.uses.push(`${speed} ${w.factor}x`);
        entry.factors.push(w.factor);
        byWindow.set(window, entry);
      }
    }
  }
  return [...byWindow.entries()]
    .map(([window, entry]) => ({ window, ...entry }))
    .sort((a, b) => parseDuration(a.window) - parseDuration(b.window));
}

/** Threshold steps at each burn-rate factor of the alerts (1x is the budget spent exactly in 30 days). */
function burnSteps(): Step[] {
  const factors = [...new Set(burnWindows().flatMap((w) => w.factors))].sort((a, b) => a - b);
  const colors = ['yellow', 'orange', 'red', 'dark-red'];
  return [
    { value: null, color: 'green' },
    ...factors.map((value, i) => ({ value, color: colors[Math.min(i, colors.length - 1)]! })),
  ];
}

function burnQueries(ratio: 'availability_errors' | 'latency_errors', objective: number): Query[] {
  const budget = Number((1 - objective).toPrecision(12));
  return burnWindows().map(({ window, uses }) =>
    q(`${recorded(ratio, window)}{${job}} / ${budget}`, `${window} (${uses.join(', ')})`),
  );
}

/** The windows the SLI panels show: the fast alert's short and long window (5m and 1h). */
const shortWindow = SLO.burnRates.fast.windows[0]!.short;
const longWindow = SLO.burnRates.fast.windows[0]!.long;

/**
 * One recorded rate summed over the period: its samples, each the rate over the last few minutes, add
 * up in proportion to the events of the period, so a ratio of two such sums is the period's share. The
 * errors' rate is 0, not absent, while requests flow without a 5xx, so the budget starts full.
 */
const overPeriod = (what: RecordedRate) =>
  `sum_over_time(${recordedRate(what, SLO_SAMPLE_WINDOW)}{${job}}[${SLO_PERIOD}])`;
const errorShare = `${overPeriod('http_errors')}\n  / ${overPeriod('http_requests')}`;
const slowShare = `${overPeriod('http_slow_requests')}\n  / ${overPeriod('http_request_duration_seconds_count')}`;
const budgetOf = (objective: number) => Number((1 - objective).toPrecision(12));

const budgetSteps: Step[] = [
  { value: null, color: 'red' },
  { value: 0, color: 'orange' },
  { value: 0.25, color: 'green' },
];

const availability = SLO.availability.objective;
const latency = SLO.latency.objective;

export function sloDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'slo',
    `Orchestrator SLOs over ${SLO_PERIOD}: availability ${availability * 100}% of client requests not 5xx, latency ${latency * 100}% within ${le}s; error budgets and burn rates.`,
  ).time({ from: 'now-7d', to: 'now' });
  return finish('slo', board, [objectives(id), availabilitySection(id), latencySection(id)]);
}

// ---------------------------------------------------------------------------------------------------
// Objectives over the period

function objectives(id: Ids): Section {
  return section(
    row(id(), `Objectives over the last ${SLO_PERIOD}`),
    availabilityOverPeriod(id),
    availabilityBudget(id),
    latencyOverPeriod(id),
    latencyBudget(id),
    dataRetained(id),
  );
}

function dataRetained(id: Ids) {
  const requests = `${recordedRate('http_requests', SLO_SAMPLE_WINDOW)}{${job}}`;
  const period = parseDuration(SLO_PERIOD);
  return statPanel({
    id: id(),
    title: 'Recorded data in the period',
    description: `How far back the recorded rates the shares are summed from reach, up to ${SLO_PERIOD} (in steps of ${SLO_SAMPLE_WINDOW}; 0 in the first ones). Less means Prometheus keeps less than the SLO period (a Prometheus installed by the usual Helm chart keeps 10 days unless told otherwise): the shares cover only this long.`,
    unit: 's',
    width: 4,
    queries: [
      instant(
        q(
          `(time() - min_over_time(timestamp(${requests})[${SLO_PERIOD}:${SLO_SAMPLE_WINDOW}]))\n  or vector(0)`,
          'retained',
        ),
      ),
    ],
    thresholds: [
      { value: null, color: 'orange' },
      { value: period - 86400, color: 'green' },
    ],
  });
}

function availabilityOverPeriod(id: Ids) {
  return statPanel({
    id: id(),
    title: `Availability (objective ${availability * 100}%)`,
    width: 5,
    description: `Share of client requests over the last ${SLO_PERIOD} not answered with a 5xx.`,
    unit: 'percentunit',
    decimals: 3,
    queries: [instant(q(`1 - ${errorShare}`, 'availability'))],
    thresholds: below(availability),
  });
}

function availabilityBudget(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Availability error budget remaining',
    width: 5,
    description: `1 - (5xx share over ${SLO_PERIOD}) / (1 - objective): 100% untouched, 0 spent, negative overspent.`,
    unit: 'percentunit',
    decimals: 1,
    queries: [instant(q(`1 - (${errorShare}) / ${budgetOf(availability)}`, 'remaining'))],
    thresholds: budgetSteps,
  });
}

function latencyOverPeriod(id: Ids) {
  return statPanel({
    id: id(),
    title: `Latency: within ${le}s (objective ${latency * 100}%)`,
    width: 5,
    description: `Share of client requests over the last ${SLO_PERIOD} answered within ${le}s.`,
    unit: 'percentunit',
    decimals: 3,
    queries: [instant(q(`1 - ${slowShare}`, 'within bound'))],
    thresholds: below(latency),
  });
}

function latencyBudget(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Latency error budget remaining',
    width: 5,
    unit: 'percentunit',
    decimals: 1,
    queries: [instant(q(`1 - (${slowShare}) / ${budgetOf(latency)}`, 'remaining'))],
    thresholds: budgetSteps,
  });
}

// ---------------------------------------------------------------------------------------------------
// Availability

function availabilitySection(id: Ids): Section {
  return section(row(id(), 'Availability'), availabilitySli(id), availabilityBurnRate(), clientRequests(id));
}

function availabilitySli(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Availability SLI',
    unit: 'percentunit',
    width: 8,
    queries: [
      q(`1 - ${recorded('availability_errors', shortWindow)}{${job}}`, shortWindow),
      q(`1 - ${recorded('availability_errors', longWindow)}{${job}}`, longWindow),
    ],
    thresholds: below(availability),
  });
}

function availabilityBurnRate() {
  return timeseriesPanel({
    id: ids.availabilityBurnRate,
    title: 'Availability burn rate',
    description:
      'Error ratio over each alert window divided by the error budget (1 - objective). An alert fires when both windows of a pair exceed its factor.',
    unit: 'suffix:x',
    width: 16,
    min: 0,
    queries: burnQueries('availability_errors', availability),
    thresholds: burnSteps(),
  });
}

function clientRequests(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Client requests',
    unit: 'reqps',
    width: 24,
    height: 6,
    queries: [q(`${recordedRequests(shortWindow)}{${job}}`, `requests (${shortWindow})`)],
  });
}

// ---------------------------------------------------------------------------------------------------
// Latency

function latencySection(id: Ids): Section {
  return section(row(id(), 'Latency'), latencySli(id), latencyBurnRate(), latencyQuantiles(id));
}

function latencySli(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: `Latency SLI: share within ${le}s`,
    unit: 'percentunit',
    width: 8,
    queries: [
      q(`1 - ${recorded('latency_errors', shortWindow)}{${job}}`, shortWindow),
      q(`1 - ${recorded('latency_errors', longWindow)}{${job}}`, longWindow),
    ],
    thresholds: below(latency),
  });
}

function latencyBurnRate() {
  return timeseriesPanel({
    id: ids.latencyBurnRate,
    title: 'Latency burn rate',
    description: `Share of requests slower than ${le}s over each alert window divided by the error budget (1 - objective).`,
    unit: 'suffix:x',
    width: 16,
    min: 0,
    queries: burnQueries('latency_errors', latency),
    thresholds: burnSteps(),
  });
}

function latencyQuantiles(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: `Latency p99 against the ${le}s bound`,
    unit: 's',
    width: 24,
    height: 6,
    queries: [
      q(quantile(0.99, 'orchestrator_http_request_duration_seconds', client, []), 'p99'),
      q(quantile(0.95, 'orchestrator_http_request_duration_seconds', client, []), 'p95'),
    ],
    thresholds: [
      { value: null, color: 'green' },
      { value: SLO.latency.thresholdSeconds, color: 'red' },
    ],
  });
}
