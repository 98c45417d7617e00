import { client, LATENCY_BUCKETS, type BaseMetrics } from '../kit/metrics.ts';

/** Orchestrator-specific metrics, registered beside the kit's base metrics. All named `orchestrator_*`. */
export function createOrchestratorMetrics(base: BaseMetrics) {
  const registers = [base.registry];
  return {
    ...base,
    cacheLookups: new client.Counter({
      name: 'orchestrator_cache_lookups_total',
      help: 'Task cache lookups by agent pool and result (hit, miss, stale, bypass, uncacheable, error).',
      labelNames: ['pool', 'result'] as const,
      registers,
    }),
    cacheLocalHits: new client.Counter({
      name: 'orchestrator_cache_local_hits_total',
      help: 'Cache hits answered from the instance\u2019s memory tier without asking Redis (a subset of the hits).',
      registers,
    }),
    cacheStaleAnswers: new client.Counter({
      name: 'orchestrator_cache_stale_answers_total',
      help: 'Answers served `X-Cache: STALE` because the pool failed, by pool and reason (unavailable, timeout, circuit_open, error).',
      labelNames: ['pool', 'reason'] as const,
      registers,
    }),
    cacheVersions: new client.Counter({
      name: 'orchestrator_cache_versions_total',
      help: 'Versions of moving state that keyed a cache lookup, by pool and where they came from (pushed: the agents\u2019 published versions; resolve: asked the agent).',
      labelNames: ['pool', 'via'] as const,
      registers,
    }),
    pushedVersionsCurrent: new client.Gauge({
      name: 'orchestrator_pushed_versions_current',
      help: '1 while a pool\u2019s pushed versions are loaded and its agents were heard from within VERSIONS_MAX_SILENCE_MS.',
      labelNames: ['pool'] as const,
      registers,
    }),
    pushedVersionsEntries: new client.Gauge({
      name: 'orchestrator_pushed_versions_entries',
      help: 'Sources (refs, notes, folders) in a pool\u2019s pushed versions held in memory.',
      labelNames: ['pool'] as const,
      registers,
    }),
    pushedVersionsLoads: new client.Counter({
      name: 'orchestrator_pushed_versions_loads_total',
      help: 'Whole loads of a pool\u2019s pushed versions from Redis (start, reconnect, a missed notice, a replaced map).',
      labelNames: ['pool'] as const,
      registers,
    }),
    cacheMemoryBytes: new client.Gauge({
      name: 'orchestrator_cache_memory_bytes',
      help: 'Bytes held by the in-process tiers, by tier (answers, key_memo); each is bounded by its setting.',
      labelNames: ['tier'] as const,
      registers,
    }),
    cacheStoresSkipped: new client.Counter({
      name: 'orchestrator_cache_stores_skipped_total',
      help: 'Computed answers not stored, by reason (version_moved: the state changed while the agent worked).',
      labelNames: ['reason'] as const,
      registers,
    }),
    singleFlightWaits: new client.Counter({
      name: 'orchestrator_single_flight_waits_total',
      help: 'Requests that waited for another request computing the same answer, by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    agentCalls: new client.Counter({
      name: 'orchestrator_agent_calls_total',
      help: 'Calls to agent pools by pool and outcome (success, client_error, error, timeout, short_circuit).',
      labelNames: ['pool', 'outcome'] as const,
      registers,
    }),
    agentCallDuration: new client.Histogram({
      name: 'orchestrator_agent_call_duration_seconds',
      help: 'Latency of calls to agent pools.',
      labelNames: ['pool', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    breakerState: new client.Gauge({
      name: 'orchestrator_circuit_breaker_state',
      help: 'Circuit breaker state per agent pool: 1 for the current state (closed, half_open, open), 0 otherwise.',
      labelNames: ['pool', 'state'] as const,
      registers,
    }),
    breakerTransitions: new client.Counter({
      name: 'orchestrator_circuit_breaker_transitions_total',
      help: 'Breaker state changes per pool, by new state and origin (local failures or another instance).',
      labelNames: ['pool', 'state', 'origin'] as const,
      registers,
    }),
    poolInstances: new client.Gauge({
      name: 'orchestrator_agent_pool_instances',
      help: 'Agent instances with a live heartbeat in Redis, per pool.',
      labelNames: ['pool'] as const,
      registers,
    }),
    poolHealthyInstances: new client.Gauge({
      name: 'orchestrator_agent_pool_healthy_instances',
      help: 'Agent instances reporting status ok, per pool.',
      labelNames: ['pool'] as const,
      registers,
    }),
    poolUp: new client.Gauge({
      name: 'orchestrator_agent_pool_up',
      help: '1 when the pool has a healthy instance and its breaker is not open, else 0.',
      labelNames: ['pool'] as const,
      registers,
    }),
    queueLength: new client.Gauge({
      name: 'orchestrator_queue_length',
      help: 'Async tasks queued or running, per pool (length of the pool\u2019s Redis stream).',
      labelNames: ['pool'] as const,
      registers,
    }),
    queueOldestAge: new client.Gauge({
      name: 'orchestrator_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest async task not yet finished, per pool (0 when none).',
      labelNames: ['pool'] as const,
      registers,
    }),
    asyncTasks: new client.Counter({
      name: 'orchestrator_async_tasks_total',
      help: 'Async tasks by pool and event (accepted, succeeded, failed, reclaimed, rejected).',
      labelNames: ['pool', 'event'] as const,
      registers,
    }),
    sessionOps: new client.Counter({
      name: 'orchestrator_session_operations_total',
      help: 'Session operations by operation and result (ok, not_found, conflict, error).',
      labelNames: ['operation', 'result'] as const,
      registers,
    }),
    authFailures: new client.Counter({
      name: 'orchestrator_auth_failures_total',
      help: 'Requests to /v1 refused for a missing or wrong API key.',
      registers,
    }),
  };
}

export type OrchestratorMetrics = ReturnType<typeof createOrchestratorMetrics>;
