/**
 * Orchestrator: per instance and per route detail, agent dispatch and breaker states, cache and single
 * flight, Redis errors and degraded mode, async queues and sessions.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  API_ROUTES,
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
  quantile,
  quantiles,
  rate,
  row,
  stateTimelinePanel,
  statPanel,
  timeseriesPanel,
  valueText,
} from './common.ts';
import { BREAKER_STATES as STATES, type BreakerState } from '../platform/metrics.ts';

const ids = alertPanels.orchestrator;
const inst = 'instance=~"$instance"';
const api = `${API_ROUTES}, ${inst}`;
const pool = 'pool=~"$pool"';

const BREAKER_COLOURS: Record<BreakerState, string> = { closed: 'green', half_open: 'orange', open: 'red' };

/** 0 closed, 1 half open, 2 open: one series per pool from the one-hot state gauge. */
export const BREAKER_STATES = valueText(
  Object.fromEntries(
    STATES.map((state, i) => [i, [state.replace('_', ' '), BREAKER_COLOURS[state]] as [string, string]]),
  ),
);

export function orchestratorDashboard(): Dashboard {
  const id = panelIds();
  const builder = newDashboard(
    'orchestrator',
    'Master orchestrator detail: instances, routes, agent dispatch and breakers, cache, Redis and degraded mode, async queues, sessions.',
  )
    .withVariable(labelVariable('instance', 'Instance', 'orchestrator_ready'))
    .withVariable(labelVariable('pool', 'Agent pool', 'orchestrator_agent_pool_instances'))

    .withRow(row(id(), 'Instances'))
    .withPanel(
      statPanel({
        id: id(),
        title: 'Ready',
        description: 'orchestrator_ready: 0 while starting or draining (the load balancer takes it out).',
        unit: 'none',
        width: 8,
        queries: [q(`orchestrator_ready{${inst}}`, '{{instance}}')],
        mappings: UP_DOWN,
        thresholds: below(1),
      }),
    )
    .withPanel(
      statPanel({
        id: id(),
        title: 'Instances in degraded mode (Redis down)',
        description:
          'Orchestrators answering uncached because their Redis connection is down (orchestrator_redis_connected == 0).',
        unit: 'none',
        width: 8,
        queries: [q(`count(orchestrator_redis_connected{${inst}} == 0) or vector(0)`, 'degraded')],
        thresholds: above(1),
      }),
    )
    .withPanel(
      statPanel({
        id: id(),
        title: 'Auth failures',
        description: 'Requests to /v1 refused for a missing or wrong API key.',
        unit: 'reqps',
        width: 8,
        queries: [q(`sum(${rate(`orchestrator_auth_failures_total{${inst}}`)})`, 'refused keys')],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Request rate per instance and status',
        unit: 'reqps',
        queries: [
          q(
            `sum by (instance, status) (${rate(`orchestrator_http_requests_total{${api}}`)})`,
            '{{instance}} {{status}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Latency p50 / p95 / p99 per instance',
        unit: 's',
        queries: quantiles('orchestrator_http_request_duration_seconds', api, ['instance']),
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Open connections and cap',
        unit: 'short',
        width: 8,
        min: 0,
        queries: [
          q(`orchestrator_open_connections{${inst}}`, '{{instance}}'),
          q(`max(orchestrator_max_connections{${inst}})`, 'cap'),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Connections refused (over the cap)',
        unit: 'cps',
        width: 8,
        min: 0,
        queries: [
          q(`sum by (instance) (${rate(`orchestrator_connections_refused_total{${inst}}`)})`, '{{instance}}'),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'CPU and memory of limit',
        unit: 'percentunit',
        width: 8,
        min: 0,
        queries: [
          q(
            `${rate(`orchestrator_process_cpu_seconds_total{${inst}}`)}\n  / (orchestrator_cpu_limit_cores > 0)`,
            '{{instance}} CPU',
          ),
          q(
            `orchestrator_process_resident_memory_bytes{${inst}}\n  / (orchestrator_memory_limit_bytes > 0)`,
            '{{instance}} memory',
          ),
        ],
        thresholds: above(THRESHOLDS.resourceOfLimit),
      }),
    )

    .withRow(row(id(), 'Routes'))
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Request rate per route and status',
        unit: 'reqps',
        queries: [
          q(
            `sum by (method, route, status) (${rate(`orchestrator_http_requests_total{${api}}`)})`,
            '{{method}} {{route}} {{status}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
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
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Latency p95 per route',
        unit: 's',
        queries: [
          q(
            quantile(0.95, 'orchestrator_http_request_duration_seconds', api, ['method', 'route']),
            '{{method}} {{route}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Latency p99 per route',
        unit: 's',
        queries: [
          q(
            quantile(0.99, 'orchestrator_http_request_duration_seconds', api, ['method', 'route']),
            '{{method}} {{route}}',
          ),
        ],
      }),
    )

    .withRow(row(id(), 'Agent dispatch and circuit breakers'))
    .withPanel(
      stateTimelinePanel({
        id: ids.breakerState,
        title: 'Circuit breaker state per pool',
        description: 'The shared breaker of each agent pool, as the orchestrators see it (worst instance).',
        unit: 'none',
        queries: [
          q(
            `max by (pool) (orchestrator_circuit_breaker_state{${pool}, state="open"}) * 2\n  + max by (pool) (orchestrator_circuit_breaker_state{${pool}, state="half_open"})`,
            '{{pool}}',
          ),
        ],
        mappings: BREAKER_STATES,
        thresholds: above(1, 2),
      }),
    )
    .withPanel(
      timeseriesPanel({
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
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Agent calls per pool and outcome',
        unit: 'reqps',
        queries: [
          q(
            `sum by (pool, outcome) (${rate(`orchestrator_agent_calls_total{${pool}}`)})`,
            '{{pool}} {{outcome}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Agent call latency p95 per pool',
        unit: 's',
        queries: [
          q(
            quantile(0.95, 'orchestrator_agent_call_duration_seconds', `${pool}, outcome="success"`, [
              'pool',
            ]),
            '{{pool}} p95',
          ),
          q(
            quantile(0.99, 'orchestrator_agent_call_duration_seconds', `${pool}, outcome="success"`, [
              'pool',
            ]),
            '{{pool}} p99',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Agent pool instances (shared health)',
        unit: 'short',
        min: 0,
        decimals: 0,
        queries: [
          q(`max by (pool) (orchestrator_agent_pool_healthy_instances{${pool}})`, '{{pool}} healthy'),
          q(`max by (pool) (orchestrator_agent_pool_instances{${pool}})`, '{{pool}} instances'),
        ],
      }),
    )

    .withRow(row(id(), 'Cache and single flight'))
    .withPanel(
      timeseriesPanel({
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
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Cache hit ratio per instance',
        unit: 'percentunit',
        width: 8,
        min: 0,
        max: 1,
        queries: [
          q(
            `sum by (instance) (${rate(`orchestrator_cache_lookups_total{${inst}, ${pool}, result="hit"}`)})\n  / sum by (instance) (${rate(`orchestrator_cache_lookups_total{${inst}, ${pool}, result=~"hit|miss"}`)})`,
            '{{instance}}',
          ),
          q(
            `sum by (instance) (${rate(`orchestrator_cache_local_hits_total{${inst}}`)})\n  / sum by (instance) (${rate(`orchestrator_cache_lookups_total{${inst}, result="hit"}`)})`,
            '{{instance}} hits from memory tier',
          ),
        ],
        thresholds: below(THRESHOLDS.cacheHitRatio),
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Single-flight waits and skipped stores',
        description:
          'Requests that waited for another instance computing the same answer, by outcome; answers not stored because the state moved.',
        unit: 'ops',
        width: 8,
        queries: [
          q(
            `sum by (outcome) (${rate(`orchestrator_single_flight_waits_total{${inst}}`)})`,
            'wait {{outcome}}',
          ),
          q(
            `sum by (reason) (${rate(`orchestrator_cache_stores_skipped_total{${inst}}`)})`,
            'store skipped: {{reason}}',
          ),
        ],
      }),
    )

    .withRow(row(id(), 'Pushed versions and stale answers'))
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Stale answers per pool and reason',
        description:
          'Answers served X-Cache: STALE because the pool was unreachable, timed out, failed or had its breaker open (stale-if-error). Users get the last stored answer, with Age, instead of a 503.',
        unit: 'ops',
        width: 8,
        queries: [
          q(
            `sum by (pool, reason) (${rate(`orchestrator_cache_stale_answers_total{${inst}, ${pool}}`)})`,
            '{{pool}} {{reason}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Versions keying lookups: pushed or asked',
        description:
          'Where the version of the moving state came from: pushed by the agents (no agent call) or asked with /resolve (pushed versions not current: just started, Redis away, the agents silent).',
        unit: 'ops',
        width: 8,
        queries: [
          q(
            `sum by (pool, via) (${rate(`orchestrator_cache_versions_total{${inst}, ${pool}}`)})`,
            '{{pool}} {{via}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Pushed versions current',
        description:
          'Orchestrators whose copy of a pool\u2019s pushed versions is current (loaded, and an agent heard from within VERSIONS_MAX_SILENCE_MS), out of all; right axis: sources held.',
        unit: 'short',
        width: 8,
        min: 0,
        queries: [
          q(`sum by (pool) (orchestrator_pushed_versions_current{${inst}, ${pool}})`, '{{pool}} current'),
          q(`count by (pool) (orchestrator_pushed_versions_current{${inst}, ${pool}})`, '{{pool}} instances'),
          q(
            `max by (pool) (orchestrator_pushed_versions_entries{${inst}, ${pool}})`,
            '{{pool}} sources',
            'none',
          ),
        ],
      }),
    )

    .withRow(row(id(), 'Redis and degraded mode'))
    .withPanel(
      timeseriesPanel({
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
      }),
    )
    .withPanel(
      stateTimelinePanel({
        id: id(),
        title: 'Redis connected (0 = degraded mode, answering uncached)',
        unit: 'none',
        queries: [q(`orchestrator_redis_connected{${inst}}`, '{{instance}}')],
        mappings: valueText({ 0: ['degraded', 'red'], 1: ['connected', 'green'] }),
        thresholds: below(1),
      }),
    )

    .withRow(row(id(), 'Async queues and sessions'))
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Queue length per pool',
        unit: 'short',
        width: 8,
        min: 0,
        queries: [q(`max by (pool) (orchestrator_queue_length{${pool}})`, '{{pool}}')],
      }),
    )
    .withPanel(
      timeseriesPanel({
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
      }),
    )
    .withPanel(
      timeseriesPanel({
        id: id(),
        title: 'Async task events per pool',
        description:
          'Accepted, succeeded, failed, reclaimed (taken over from a dead instance) and rejected tasks.',
        unit: 'ops',
        width: 8,
        queries: [
          q(
            `sum by (pool, event) (${rate(`orchestrator_async_tasks_total{${pool}}`)})`,
            '{{pool}} {{event}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
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
      }),
    );
  return finish('orchestrator', builder);
}
