/**
 * Platform overview: the seed's 6.1 key metrics at a glance (latency per instance, cache hit/miss ratio,
 * agent health, resource utilisation, error rates, queue lengths), open connections, firing alerts and
 * targets up.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  API_ROUTES,
  AGENT_JOBS,
  INSTALLATION,
  JOBS,
  alerts,
  scope,
  recorded,
  THRESHOLDS,
  UP_DOWN,
  above,
  alertPanels,
  below,
  finish,
  labelVariable,
  newDashboard,
  panelIds,
  q,
  quantiles,
  rate,
  row,
  section,
  statPanel,
  tablePanel,
  timeseriesPanel,
  type Ids,
  type Section,
} from './common.ts';

const ids = alertPanels.overview;

const orch = scope(JOBS.orchestrator);
const inst = `${orch}, instance=~"$instance"`;
/** The chosen instances' client traffic. */
const api = `${inst}, ${API_ROUTES}`;
const agents = scope(...AGENT_JOBS);

export function overviewDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'overview',
    'The key metrics of the platform at a glance (the seed 6.1): traffic, latency, errors, cache, agents, queues, resources, alerts.',
  ).withVariable(labelVariable('instance', 'Orchestrator instance', `orchestrator_ready{${orch}}`));
  return finish('overview', board, [
    atAGlance(id),
    trafficLatencyAndErrors(id),
    cache(id),
    agentsAndQueues(id),
    resourcesAndConnections(id),
    firingAlerts(id),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// At a glance

function atAGlance(id: Ids): Section {
  return section(row(id(), 'At a glance'), targetsUp(), agentPoolsUp(id), alertsFiring(id));
}

function targetsUp() {
  return statPanel({
    id: ids.targetsUp,
    title: 'Targets up (share per job)',
    description:
      'Share of the scrape targets of each Prometheus job that answered the last scrape, and whether the Redis exporters reach their servers.',
    unit: 'percentunit',
    width: 12,
    queries: [
      q(`avg by (job) (up{${scope(...Object.values(JOBS))}})`, '{{job}}'),
      q(
        `min by (job) (redis_up{${scope(JOBS.redis, JOBS.redisSentinel)}})`,
        '{{job}}: exporter reaches Redis',
      ),
    ],
    thresholds: below(1),
    min: 0,
    max: 1,
  });
}

function agentPoolsUp(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Agent pools up',
    description: 'A pool is up when it has a healthy instance and its circuit breaker is not open.',
    unit: 'none',
    queries: [q(`min by (pool) (orchestrator_agent_pool_up{${orch}})`, '{{pool}}')],
    mappings: UP_DOWN,
    thresholds: below(1),
  });
}

function alertsFiring(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Alerts firing',
    unit: 'none',
    description: 'Alerts firing in the chosen namespace: the bundle\u2019s own and any other about its pods.',
    queries: [q(`count(ALERTS{alertstate="firing", ${INSTALLATION}}) or vector(0)`, 'firing')],
    thresholds: above(1),
  });
}

// ---------------------------------------------------------------------------------------------------
// Traffic, latency and errors

function trafficLatencyAndErrors(id: Ids): Section {
  return section(row(id(), 'Traffic, latency and errors'), requestRate(id), latency(id), errorRate());
}

function requestRate(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Request rate per instance',
    unit: 'reqps',
    width: 8,
    queries: [
      q(`sum by (instance) (${rate(`orchestrator_http_requests_total{${api}}`)})`, '{{instance}}'),
      q(`sum(${rate(`orchestrator_http_requests_total{${api}}`)})`, 'all instances'),
    ],
  });
}

function latency(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Request latency p50 / p95 / p99 per instance',
    unit: 's',
    width: 8,
    queries: quantiles('orchestrator_http_request_duration_seconds', api, ['instance']),
  });
}

function errorRate() {
  return timeseriesPanel({
    id: ids.errorRate,
    title: 'Error rate (5xx share of requests)',
    description:
      'Share of client requests answered with a 5xx, per instance, and the recorded ratio the alert reads; the line is the alert threshold.',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [
      q(
        // `or 0 * all`: an instance that answered no 5xx shows 0, not "no data".
        `(sum by (instance) (${rate(`orchestrator_http_requests_total{${api}, status=~"5.."}`)})\n  or 0 * sum by (instance) (${rate(`orchestrator_http_requests_total{${api}}`)}))\n  / sum by (instance) (${rate(`orchestrator_http_requests_total{${api}}`)})`,
        '{{instance}}',
      ),
      q(
        `${recorded('availability_errors', alerts.errorRate.window)}{${orch}}`,
        `all instances (alert signal, ${alerts.errorRate.window})`,
      ),
    ],
    thresholds: above(THRESHOLDS.errorRatio),
  });
}

// ---------------------------------------------------------------------------------------------------
// Cache

function cache(id: Ids): Section {
  return section(row(id(), 'Cache'), cacheHitRatio(), cacheLookupsByResult(id));
}

function cacheHitRatio() {
  return timeseriesPanel({
    id: ids.cacheHitRatio,
    title: 'Cache hit ratio',
    description:
      'hit / (hit + miss) per agent pool and overall; bypassed lookups (Redis down, cache=bypass), uncacheable ones (a sampled LLM chat) and stale answers are not counted.',
    unit: 'percentunit',
    min: 0,
    max: 1,
    queries: [
      q(
        `sum by (pool) (${rate(`orchestrator_cache_lookups_total{${orch}, result="hit"}`)})\n  / sum by (pool) (${rate(`orchestrator_cache_lookups_total{${orch}, result=~"hit|miss"}`)})`,
        '{{pool}}',
      ),
      q(
        `${recorded('cache_hits', alerts.cacheHitRatio.window)}{${orch}}`,
        `all pools (alert signal, ${alerts.cacheHitRatio.window})`,
      ),
    ],
    thresholds: below(THRESHOLDS.cacheHitRatio),
  });
}

function cacheLookupsByResult(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Cache lookups by result (hit / miss / stale / bypass / uncacheable / error)',
    unit: 'percentunit',
    stack: 'percent',
    queries: [q(`sum by (result) (${rate(`orchestrator_cache_lookups_total{${orch}}`)})`, '{{result}}')],
  });
}

// ---------------------------------------------------------------------------------------------------
// Agents and queues

function agentsAndQueues(id: Ids): Section {
  return section(row(id(), 'Agents and queues'), agentPoolHealth(), queueLength(), agentCallErrors(id));
}

function agentPoolHealth() {
  return timeseriesPanel({
    id: ids.agentPoolHealth,
    title: 'Agent pool health: healthy instances',
    description:
      'Instances reporting ok in their heartbeat, against the instances with a live heartbeat, per pool.',
    unit: 'short',
    width: 8,
    min: 0,
    decimals: 0,
    queries: [
      q(`max by (pool) (orchestrator_agent_pool_healthy_instances{${orch}})`, '{{pool}} healthy'),
      q(`max by (pool) (orchestrator_agent_pool_instances{${orch}})`, '{{pool}} instances'),
    ],
  });
}

function queueLength() {
  return timeseriesPanel({
    id: ids.queueLength,
    title: 'Async queue length per pool',
    description:
      'Async tasks queued or running (length of the pool stream); every orchestrator reports the same stream.',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [q(`max by (pool) (orchestrator_queue_length{${orch}})`, '{{pool}}')],
  });
}

function agentCallErrors(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Agent call errors (share of calls)',
    description: 'Calls to each pool that failed, timed out or were short-circuited by the breaker.',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [
      q(
        `sum by (pool) (${rate(`orchestrator_agent_calls_total{${orch}, outcome=~"error|timeout|short_circuit"}`)})\n  / sum by (pool) (${rate(`orchestrator_agent_calls_total{${orch}}`)})`,
        '{{pool}}',
      ),
    ],
    thresholds: above(THRESHOLDS.errorRatio),
  });
}

// ---------------------------------------------------------------------------------------------------
// Resources and connections

function resourcesAndConnections(id: Ids): Section {
  return section(
    row(id(), 'Resources and connections'),
    orchestratorCpuOfLimit(),
    orchestratorMemoryOfLimit(),
    agentResourcesOfLimit(id),
    openConnections(id),
    orchestratorEventLoop(),
  );
}

function orchestratorCpuOfLimit() {
  return timeseriesPanel({
    id: ids.orchestratorCpuOfLimit,
    title: 'Orchestrator CPU of limit',
    unit: 'percentunit',
    width: 6,
    min: 0,
    queries: [
      q(
        `${rate(`orchestrator_process_cpu_seconds_total{${inst}}`)}\n  / (orchestrator_cpu_limit_cores{${orch}} > 0)`,
        '{{instance}}',
      ),
    ],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

function orchestratorMemoryOfLimit() {
  return timeseriesPanel({
    id: ids.orchestratorMemoryOfLimit,
    title: 'Orchestrator memory of limit',
    unit: 'percentunit',
    width: 6,
    min: 0,
    queries: [
      q(
        `orchestrator_process_resident_memory_bytes{${inst}}\n  / (orchestrator_memory_limit_bytes{${orch}} > 0)`,
        '{{instance}}',
      ),
    ],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

function agentResourcesOfLimit(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Agents CPU and memory of limit (busiest instance per pool)',
    unit: 'percentunit',
    width: 6,
    min: 0,
    queries: [
      q(
        `max by (pool) (${rate(`agent_process_cpu_seconds_total{${agents}}`)} / (agent_cpu_limit_cores{${agents}} > 0))`,
        '{{pool}} CPU',
      ),
      q(
        `max by (pool) (agent_process_resident_memory_bytes{${agents}} / (agent_memory_limit_bytes{${agents}} > 0))`,
        '{{pool}} memory',
      ),
    ],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

function orchestratorEventLoop() {
  return timeseriesPanel({
    id: ids.orchestratorEventLoop,
    title: 'Orchestrator event loop: utilisation and lag',
    description:
      'Share of the time each event loop was busy (a Node.js process saturates its one loop near one core, before its CPU limit); the line is the alert threshold. Right axis: p99 of how late the loop ran what was due.',
    unit: 'percentunit',
    width: 24,
    min: 0,
    queries: [
      q(rate(`orchestrator_event_loop_active_seconds_total{${inst}}`), '{{instance}} busy'),
      q(`orchestrator_nodejs_eventloop_lag_p99_seconds{${inst}}`, '{{instance}} lag p99', 's'),
    ],
    thresholds: above(THRESHOLDS.eventLoopUtilisation),
  });
}

function openConnections(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Open connections per instance',
    description: 'Client connections open on each orchestrator, against its cap (MAX_CONNECTIONS).',
    unit: 'short',
    width: 6,
    min: 0,
    queries: [
      q(`orchestrator_open_connections{${inst}}`, '{{instance}}'),
      q(`max(orchestrator_max_connections{${orch}})`, 'cap'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Alerts

function firingAlerts(id: Ids): Section {
  return section(row(id(), 'Alerts'), firingAlertsTable(id));
}

function firingAlertsTable(id: Ids) {
  return tablePanel({
    id: id(),
    title: 'Firing alerts',
    unit: 'none',
    description: 'Alerts firing in the chosen namespace: the bundle\u2019s own and any other about its pods.',
    queries: [q(`ALERTS{alertstate="firing", ${INSTALLATION}}`)],
    hide: ['Value', 'alertstate'],
  });
}
