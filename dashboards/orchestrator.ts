/**
 * Orchestrator: per instance and per route detail, agent dispatch and breaker states, cache and single
 * flight, Redis errors and degraded mode, async queues and sessions.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  API_ROUTES,
  JOBS,
  THRESHOLDS,
  UP_DOWN,
  above,
  alertPanels,
  below,
  breakerStateQuery,
  finish,
  labelVariable,
  newDashboard,
  panelIds,
  q,
  quantile,
  quantiles,
  rate,
  row,
  scope,
  section,
  stateTimelinePanel,
  statPanel,
  timeseriesPanel,
  valueText,
  versionsPanel,
  type Ids,
  type Section,
} from './common.ts';
import { BREAKER_STATES as STATES, type BreakerState } from '../platform/metrics.ts';

const ids = alertPanels.orchestrator;
const orch = scope(JOBS.orchestrator);
/** The chosen instances, the chosen pools, or both. */
const inst = `${orch}, instance=~"$instance"`;
const pool = `${orch}, pool=~"$pool"`;
const instPool = `${inst}, pool=~"$pool"`;
/** The chosen instances' client traffic. */
const api = `${inst}, ${API_ROUTES}`;

const BREAKER_COLOURS: Record<BreakerState, string> = { closed: 'green', half_open: 'orange', open: 'red' };

/** 0 closed, 1 half open, 2 open: one series per pool from the one-hot state gauge. */
export const BREAKER_STATES = valueText(
  Object.fromEntries(
    STATES.map((state, i) => [i, [state.replace('_', ' '), BREAKER_COLOURS[state]] as [string, string]]),
  ),
);

export function orchestratorDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'orchestrator',
    'Master orchestrator detail: instances, routes, agent dispatch and breakers, cache, Redis and degraded mode, async queues, sessions.',
  )
    .withVariable(labelVariable('instance', 'Instance', `orchestrator_ready{${orch}}`))
    .withVariable(labelVariable('pool', 'Agent pool', `orchestrator_agent_pool_instances{${orch}}`));
  return finish('orchestrator', board, [
    instances(id),
    routes(id),
    dispatchAndBreakers(id),
    cacheAndSingleFlight(id),
    pushedVersionsAndStaleAnswers(id),
    redisAndDegradedMode(id),
    asyncQueuesAndSessions(id),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Instances

function instances(id: Ids): Section {
  return section(
    row(id(), 'Instances'),
    ready(id),
    degradedInstances(id),
    authFailures(id),
    requestRateByInstance(id),
    latencyByInstance(id),
    openConnections(id),
    refusedConnections(id),
    cpuAndMemoryOfLimit(id),
    versionsPanel({ id: id(), prefix: 'orchestrator_', selector: inst, by: ['instance'] }),
  );
}

function ready(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Ready',
    description: 'orchestrator_ready: 0 while starting or draining (the load balancer takes it out).',
    unit: 'none',
    width: 8,
    queries: [q(`orchestrator_ready{${inst}}`, '{{instance}}')],
    mappings: UP_DOWN,
    thresholds: below(1),
  });
}

function degradedInstances(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Instances in degraded mode (Redis down)',
    description:
      'Orchestrators answering uncached because their Redis connection is down (orchestrator_redis_connected == 0).',
    unit: 'none',
    width: 8,
    queries: [q(`count(orchestrator_redis_connected{${inst}} == 0) or vector(0)`, 'degraded')],
    thresholds: above(1),
  });
}

function authFailures(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Auth failures',
    description: 'Requests to /v1 refused for a missing or wrong API key.',
    unit: 'reqps',
    width: 8,
    queries: [q(`sum(${rate(`orchestrator_auth_failures_total{${inst}}`)})`, 'refused keys')],
  });
}

function requestRateByInstance(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Request rate per instance and status',
    unit: 'reqps',
    queries: [
      q(
        `sum by (instance, status) (${rate(`orchestrator_http_requests_total{${api}}`)})`,
        '{{instance}} {{status}}',
      ),
    ],
  });
}

function latencyByInstance(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Latency p50 / p95 / p99 per instance',
    unit: 's',
    queries: quantiles('orchestrator_http_request_duration_seconds', api, ['instance']),
  });
}

function openConnections(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Open connections and cap',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [
      q(`orchestrator_open_connections{${inst}}`, '{{instance}}'),
      q(`max(orchestrator_max_connections{${inst}})`, 'cap'),
    ],
  });
}

function refusedConnections(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Connections refused (over the cap)',
    unit: 'cps',
    width: 8,
    min: 0,
    queries: [
      q(`sum by (instance) (${rate(`orchestrator_connections_refused_total{${inst}}`)})`, '{{instance}}'),
    ],
  });
}

function cpuAndMemoryOfLimit(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'CPU and memory of limit',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [
      q(
        `${rate(`orchestrator_process_cpu_seconds_total{${inst}}`)}\n  / (orchestrator_cpu_limit_cores{${orch}} > 0)`,
        '{{instance}} CPU',
      ),
      q(
        `orchestrator_process_resident_memory_bytes{${inst}}\n  / (orchestrator_memory_limit_bytes{${orch}} > 0)`,
        '{{instance}} memory',
      ),
    ],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

// ---------------------------------------------------------------------------------------------------
// Routes

function routes(id: Ids): Section {
  return section(
    row(id(), 'Routes'),
    requestRateByRoute(id),
    errorRateByRoute(id),
    routeLatency(id, 0.95),
    routeLatency(id, 0.99),
  );
}

function requestRateByRoute(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Request rate per route and status',
    unit: 'reqps',
    queries: [
      q(
        `sum by (method, route, status) (${rate(`orchestrator_http_requests_total{${api}}`)})`,
        '{{method}} {{route}} {{status}}',
      ),
    ],
  });
}

function errorRateByRoute(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Error rate per route (5xx share)',
    unit: 'percentunit',
    min: 0,
    queries: [
      q(
        `(sum by (method, route) (${rate(`orchestrator_http_requests_total{${api}, status=~"5.."}`)})\n  or 0 * sum by (method, route) (${rate(`orchestrator_http_requests_total{${api}}`)}))\n  / sum by (method, route) (${rate(`orchestrator_http_requests_total{${api}}`)})`,
        '{{method}} {{route}}',
      ),
    ],
    thresholds: above(THRESHOLDS.errorRatio),
  });
}

function routeLatency(id: Ids, quantileOf: 0.95 | 0.99) {
  return timeseriesPanel({
    id: id(),
    title: `Latency p${Math.round(quantileOf * 100)} per route`,
    unit: 's',
    queries: [
      q(
        quantile(quantileOf, 'orchestrator_http_request_duration_seconds', api, ['method', 'route']),
        '{{method}} {{route}}',
      ),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Agent dispatch and circuit breakers

function dispatchAndBreakers(id: Ids): Section {
  return section(
    row(id(), 'Agent dispatch and circuit breakers'),
    breakerState(),
    breakerTransitions(id),
    agentCalls(id),
    agentCallLatency(id),
    poolInstances(id),
  );
}

function breakerState() {
  return stateTimelinePanel({
    id: ids.breakerState,
    title: 'Circuit breaker state per pool',
    description: 'The shared breaker of each agent pool, as the orchestrators see it (worst instance).',
    unit: 'none',
    queries: [q(breakerStateQuery('orchestrator_circuit_breaker_state', 'pool', pool), '{{pool}}')],
    mappings: BREAKER_STATES,
    thresholds: above(1, 2),
  });
}

function breakerTransitions(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Breaker transitions',
    description:
      'Breaker changes by new state and origin (local failures, or adopted from another instance).',
    unit: 'short',
    queries: [
      q(
        `sum by (pool, state, origin) (increase(orchestrator_circuit_breaker_transitions_total{${pool}}[$__rate_interval]))`,
        '{{pool}} -> {{state}} ({{origin}})',
      ),
    ],
  });
}

function agentCalls(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Agent calls per pool and outcome',
    unit: 'reqps',
    queries: [
      q(
        `sum by (pool, outcome) (${rate(`orchestrator_agent_calls_total{${pool}}`)})`,
        '{{pool}} {{outcome}}',
      ),
    ],
  });
}

function agentCallLatency(id: Ids) {
  const success = `${pool}, outcome="success"`;
  return timeseriesPanel({
    id: id(),
    title: 'Agent call latency p95 per pool',
    unit: 's',
    queries: [
      q(quantile(0.95, 'orchestrator_agent_call_duration_seconds', success, ['pool']), '{{pool}} p95'),
      q(quantile(0.99, 'orchestrator_agent_call_duration_seconds', success, ['pool']), '{{pool}} p99'),
    ],
  });
}

function poolInstances(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Agent pool instances (shared health)',
    unit: 'short',
    min: 0,
    decimals: 0,
    queries: [
      q(`max by (pool) (orchestrator_agent_pool_healthy_instances{${pool}})`, '{{pool}} healthy'),
      q(`max by (pool) (orchestrator_agent_pool_instances{${pool}})`, '{{pool}} instances'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Cache and single flight

function cacheAndSingleFlight(id: Ids): Section {
  return section(row(id(), 'Cache and single flight'), cacheLookups(id), cacheHitRatio(id), singleFlight(id));
}

function cacheLookups(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Cache lookups per pool and result',
    unit: 'ops',
    width: 8,
    queries: [
      q(
        `sum by (pool, result) (${rate(`orchestrator_cache_lookups_total{${pool}}`)})`,
        '{{pool}} {{result}}',
      ),
    ],
  });
}

function cacheHitRatio(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Cache hit ratio per instance',
    unit: 'percentunit',
    width: 8,
    min: 0,
    max: 1,
    queries: [
      q(
        `sum by (instance) (${rate(`orchestrator_cache_lookups_total{${instPool}, result="hit"}`)})\n  / sum by (instance) (${rate(`orchestrator_cache_lookups_total{${instPool}, result=~"hit|miss"}`)})`,
        '{{instance}}',
      ),
      q(
        `sum by (instance) (${rate(`orchestrator_cache_local_hits_total{${inst}}`)})\n  / sum by (instance) (${rate(`orchestrator_cache_lookups_total{${inst}, result="hit"}`)})`,
        '{{instance}} hits from memory tier',
      ),
    ],
    thresholds: below(THRESHOLDS.cacheHitRatio),
  });
}

function singleFlight(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Single-flight waits and skipped stores',
    description:
      'Requests that waited for another instance computing the same answer, by outcome; answers not stored because the state moved.',
    unit: 'ops',
    width: 8,
    queries: [
      q(`sum by (outcome) (${rate(`orchestrator_single_flight_waits_total{${inst}}`)})`, 'wait {{outcome}}'),
      q(
        `sum by (reason) (${rate(`orchestrator_cache_stores_skipped_total{${inst}}`)})`,
        'store skipped: {{reason}}',
      ),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Pushed versions and stale answers

function pushedVersionsAndStaleAnswers(id: Ids): Section {
  return section(
    row(id(), 'Pushed versions and stale answers'),
    staleAnswers(id),
    versionSources(id),
    pushedVersionsCurrent(id),
  );
}

function staleAnswers(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Stale answers per pool and reason',
    description:
      'Answers served X-Cache: STALE because the pool was unreachable, timed out, failed or had its breaker open (stale-if-error). Users get the last stored answer, with Age, instead of a 503.',
    unit: 'ops',
    width: 8,
    queries: [
      q(
        `sum by (pool, reason) (${rate(`orchestrator_cache_stale_answers_total{${instPool}}`)})`,
        '{{pool}} {{reason}}',
      ),
    ],
  });
}

function versionSources(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Versions keying lookups: pushed or asked',
    description:
      'Where the version of the moving state came from: pushed by the agents (no agent call) or asked with /resolve (pushed versions not current: just started, Redis away, the agents silent).',
    unit: 'ops',
    width: 8,
    queries: [
      q(`sum by (pool, via) (${rate(`orchestrator_cache_versions_total{${instPool}}`)})`, '{{pool}} {{via}}'),
    ],
  });
}

function pushedVersionsCurrent(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Pushed versions current',
    description:
      'Orchestrators whose copy of a pool\u2019s pushed versions is current (loaded, and an agent heard from within VERSIONS_MAX_SILENCE_MS), out of all; right axis: sources held.',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [
      q(`sum by (pool) (orchestrator_pushed_versions_current{${instPool}})`, '{{pool}} current'),
      q(`count by (pool) (orchestrator_pushed_versions_current{${instPool}})`, '{{pool}} instances'),
      q(`max by (pool) (orchestrator_pushed_versions_entries{${instPool}})`, '{{pool}} sources', 'none'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Redis and degraded mode

function redisAndDegradedMode(id: Ids): Section {
  return section(row(id(), 'Redis and degraded mode'), redisErrors(), redisConnected(id));
}

function redisErrors() {
  return timeseriesPanel({
    id: ids.redisErrors,
    title: 'Redis errors per operation',
    description:
      'Redis commands that failed or timed out, per instance and operation; right axis: orchestrators whose Redis connection is down (orchestrator_redis_connected == 0, degraded mode).',
    unit: 'ops',
    queries: [
      q(
        `sum by (instance, operation) (${rate(`orchestrator_redis_errors_total{${inst}}`)})`,
        '{{instance}} {{operation}}',
      ),
      q(
        `count(orchestrator_redis_connected{${inst}} == 0) or vector(0)`,
        'instances in degraded mode',
        'short',
      ),
    ],
  });
}

function redisConnected(id: Ids) {
  return stateTimelinePanel({
    id: id(),
    title: 'Redis connected (0 = degraded mode, answering uncached)',
    unit: 'none',
    queries: [q(`orchestrator_redis_connected{${inst}}`, '{{instance}}')],
    mappings: valueText({ 0: ['degraded', 'red'], 1: ['connected', 'green'] }),
    thresholds: below(1),
  });
}

// ---------------------------------------------------------------------------------------------------
// Async queues and sessions

function asyncQueuesAndSessions(id: Ids): Section {
  return section(
    row(id(), 'Async queues and sessions'),
    queueLength(id),
    queueOldestAge(),
    asyncTaskEvents(id),
    sessionOperations(id),
  );
}

function queueLength(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Queue length per pool',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [q(`max by (pool) (orchestrator_queue_length{${pool}})`, '{{pool}}')],
  });
}

function queueOldestAge() {
  return timeseriesPanel({
    id: ids.queueOldestAge,
    title: 'Oldest unfinished task age per pool',
    description:
      'Age of the oldest async task not yet finished (0 when none), and on the right axis the queue length: the backlog alert wants both growing and old.',
    unit: 's',
    width: 8,
    min: 0,
    queries: [
      q(`max by (pool) (orchestrator_queue_oldest_pending_age_seconds{${pool}})`, '{{pool}} oldest'),
      q(`max by (pool) (orchestrator_queue_length{${pool}})`, '{{pool}} length', 'short'),
    ],
    thresholds: above(THRESHOLDS.queueOldestAgeSeconds),
  });
}

function asyncTaskEvents(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Async task events per pool',
    description:
      'Accepted, succeeded, failed, reclaimed (taken over from a dead instance) and rejected tasks.',
    unit: 'ops',
    width: 8,
    queries: [
      q(`sum by (pool, event) (${rate(`orchestrator_async_tasks_total{${pool}}`)})`, '{{pool}} {{event}}'),
    ],
  });
}

function sessionOperations(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Session operations by result',
    unit: 'ops',
    width: 24,
    queries: [
      q(
        `sum by (operation, result) (${rate(`orchestrator_session_operations_total{${inst}}`)})`,
        '{{operation}} {{result}}',
      ),
    ],
  });
}
