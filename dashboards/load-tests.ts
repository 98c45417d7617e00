/**
 * Load tests: what Artillery measured, pushed to the Pushgateway by artillery-plugin-publish-metrics
 * (type `prometheus`), beside the services' own view of the same run.
 *
 * The plugin (artillery 2.0's built-in copy, lib/prometheus.js) registers three metrics named after its
 * `prefix` option, each with a `metric` label holding Artillery's own metric name with dots turned into
 * underscores and lower-cased:
 *   <prefix>_counters   counter, cumulative: http_requests, http_responses, http_codes_200, errors_etimedout,
 *                       vusers_created, vusers_completed, vusers_failed, ...
 *   <prefix>_rates      gauge: http_request_rate
 *   <prefix>_summaries  gauge, per reporting period: http_response_time_{min,max,mean,median,p50,p75,p90,
 *                       p95,p99,p999,count} (milliseconds to first byte), http_response_time_5xx_p95, ...
 * It pushes under the job named by WORKER_ID (a random id otherwise), so panels do not select on `job`.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  API_ROUTES,
  INSTALLATION,
  JOBS,
  THRESHOLDS,
  above,
  below,
  finish,
  instant,
  newDashboard,
  panelIds,
  q,
  quantile,
  rate,
  row,
  scope,
  section,
  statPanel,
  timeseriesPanel,
  type Ids,
  type Section,
} from './common.ts';
import { FRONTEND } from './load-balancer.ts';

/** The publish-metrics `prefix` option (the plugin's default): the one place it is named. */
export const ARTILLERY_PREFIX = 'artillery';

const counters = `${ARTILLERY_PREFIX}_counters`;
const rates = `${ARTILLERY_PREFIX}_rates`;
const summaries = `${ARTILLERY_PREFIX}_summaries`;

/**
 * The orchestrators of the chosen installation and their client traffic. Artillery's series are pushed
 * under the job of the run (WORKER_ID), so they are scoped by the installation only.
 */
const orch = scope(JOBS.orchestrator);
const api = `${orch}, ${API_ROUTES}`;

/** Sum over every worker of the rate of one Artillery counter. */
const counterRate = (metric: string) => `sum(${rate(`${counters}{${INSTALLATION}, metric="${metric}"}`)})`;

export function loadTestsDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'loadTests',
    'Artillery runs as the clients saw them (Pushgateway) beside the orchestrators\u2019 and the load balancer\u2019s view of the same traffic.',
  )
    .time({ from: 'now-1h', to: 'now' })
    .refresh('10s');
  return finish('loadTests', board, [clientSide(id), servicesDuringTheRun(id)]);
}

// ---------------------------------------------------------------------------------------------------
// Artillery (client side)

function clientSide(id: Ids): Section {
  return section(
    row(id(), 'Artillery (client side)'),
    requestsSent(id),
    virtualUsersFailed(id),
    artilleryErrors(id),
    clientP95(id),
    requestsAndResponses(id),
    responseCodes(id),
    responseTimes(id),
    virtualUsers(id),
    errorsByCode(id),
  );
}

function requestsSent(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Requests sent in the range',
    unit: 'short',
    width: 6,
    queries: [
      instant(q(`sum(increase(${counters}{${INSTALLATION}, metric="http_requests"}[$__range]))`, 'requests')),
    ],
  });
}

function virtualUsersFailed(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Virtual users failed in the range',
    unit: 'short',
    width: 6,
    queries: [
      instant(
        q(
          `sum(increase(${counters}{${INSTALLATION}, metric="vusers_failed"}[$__range])) or vector(0)`,
          'failed',
        ),
      ),
    ],
    thresholds: above(1),
  });
}

function artilleryErrors(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Artillery errors in the range',
    description: 'Transport errors Artillery counted (ETIMEDOUT, ECONNRESET, ...), not HTTP error codes.',
    unit: 'short',
    width: 6,
    queries: [
      instant(
        q(
          `sum(increase(${counters}{${INSTALLATION}, metric=~"errors_.+"}[$__range])) or vector(0)`,
          'errors',
        ),
      ),
    ],
    thresholds: above(1),
  });
}

function clientP95(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Client p95 response time (last period)',
    unit: 'ms',
    width: 6,
    queries: [q(`max(${summaries}{${INSTALLATION}, metric="http_response_time_p95"})`, 'p95')],
  });
}

function requestsAndResponses(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Requests and responses per second',
    unit: 'reqps',
    width: 8,
    queries: [
      q(counterRate('http_requests'), 'requests'),
      q(counterRate('http_responses'), 'responses'),
      q(`sum(${rates}{${INSTALLATION}, metric="http_request_rate"})`, 'request rate (Artillery)'),
    ],
  });
}

function responseCodes(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Response codes',
    unit: 'reqps',
    width: 8,
    stack: 'normal',
    queries: [
      q(`sum by (metric) (${rate(`${counters}{${INSTALLATION}, metric=~"http_codes_.+"}`)})`, '{{metric}}'),
    ],
  });
}

function responseTimes(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Response time to first byte (per reporting period)',
    unit: 'ms',
    width: 8,
    queries: [
      q(
        `max by (metric) (${summaries}{${INSTALLATION}, metric=~"http_response_time_(median|p95|p99|max)"})`,
        '{{metric}}',
      ),
    ],
  });
}

function virtualUsers(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Virtual users',
    unit: 'short',
    width: 12,
    queries: [
      q(
        `sum by (metric) (${rate(`${counters}{${INSTALLATION}, metric=~"vusers_(created|completed|failed)"}`)})`,
        '{{metric}}/s',
      ),
    ],
  });
}

function errorsByCode(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Errors by code',
    unit: 'ops',
    width: 12,
    queries: [
      q(`sum by (metric) (${rate(`${counters}{${INSTALLATION}, metric=~"errors_.+"}`)})`, '{{metric}}'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// The services during the run

function servicesDuringTheRun(id: Ids): Section {
  return section(
    row(id(), 'The services during the run'),
    requestRates(id),
    latencies(id),
    orchestratorErrors(id),
    cacheLookups(id),
    cacheHitRatio(id),
  );
}

function requestRates(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Request rate: clients, load balancer, orchestrators',
    unit: 'reqps',
    width: 8,
    queries: [
      q(counterRate('http_requests'), 'Artillery sent'),
      q(
        `sum(${rate(`haproxy_frontend_http_requests_total{${scope(JOBS.haproxy)}, proxy="${FRONTEND}"}`)})`,
        'load balancer received',
      ),
      q(`sum(${rate(`orchestrator_http_requests_total{${api}}`)})`, 'orchestrators answered'),
      q(`sum by (instance) (${rate(`orchestrator_http_requests_total{${api}}`)})`, '{{instance}}'),
    ],
  });
}

function latencies(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Latency p95: clients against orchestrators',
    description:
      'Artillery\u2019s time to first byte (client side, through the load balancer) and the orchestrators\u2019 own histogram.',
    unit: 's',
    width: 8,
    queries: [
      q(`max(${summaries}{${INSTALLATION}, metric="http_response_time_p95"}) / 1000`, 'Artillery p95'),
      q(quantile(0.95, 'orchestrator_http_request_duration_seconds', api, []), 'orchestrators p95'),
      q(quantile(0.99, 'orchestrator_http_request_duration_seconds', api, []), 'orchestrators p99'),
    ],
  });
}

function orchestratorErrors(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Orchestrator 5xx share',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [
      q(
        `(sum(${rate(`orchestrator_http_requests_total{${api}, status=~"5.."}`)}) or vector(0))\n  / sum(${rate(`orchestrator_http_requests_total{${api}}`)})`,
        '5xx share',
      ),
    ],
    thresholds: above(THRESHOLDS.errorRatio),
  });
}

function cacheLookups(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Cache lookups during the run',
    unit: 'ops',
    width: 12,
    stack: 'normal',
    queries: [q(`sum by (result) (${rate(`orchestrator_cache_lookups_total{${orch}}`)})`, '{{result}}')],
  });
}

function cacheHitRatio(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Cache hit ratio during the run',
    unit: 'percentunit',
    width: 12,
    min: 0,
    max: 1,
    queries: [
      q(
        `sum(${rate(`orchestrator_cache_lookups_total{${orch}, result="hit"}`)})\n  / sum(${rate(`orchestrator_cache_lookups_total{${orch}, result=~"hit|miss"}`)})`,
        'hit ratio',
      ),
    ],
    thresholds: below(THRESHOLDS.cacheHitRatio),
  });
}
