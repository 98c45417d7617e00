/**
 * Every metric the services export: name, type, help, label names, and the label values that other
 * folders (dashboards, alerts, load tests) select on. The services register exactly these
 * (services/kit/metrics.ts builds them); `test/platform/` checks that every metric a dashboard or an
 * alert reads is one of them or an exporter's.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricFact<L extends string = string> {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly L[];
  /** Histograms only; LATENCY_BUCKETS when absent. */
  buckets?: readonly number[];
}

/** Request and call latency buckets, in seconds. The latency SLO's threshold must be one of them. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Circuit breaker states, as the `state` label of the breaker gauges. */
export const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/** `result` of orchestrator_cache_lookups_total. */
export const CACHE_RESULTS = ['hit', 'miss', 'stale', 'bypass', 'uncacheable', 'error'] as const;
/** `reason` of orchestrator_cache_stale_answers_total: why the pool could not answer. */
export const STALE_REASONS = ['unavailable', 'timeout', 'circuit_open', 'error'] as const;
/** `outcome` of orchestrator_agent_calls_total. */
export const AGENT_CALL_OUTCOMES = ['success', 'client_error', 'error', 'timeout', 'short_circuit'] as const;
/** `event` of orchestrator_async_tasks_total. */
export const ASYNC_TASK_EVENTS = ['accepted', 'succeeded', 'failed', 'reclaimed', 'rejected'] as const;

const counter = <L extends string = never>(name: string, help: string, labels: readonly L[] = []) =>
  ({ name, type: 'counter', help, labels }) as const;
const gauge = <L extends string = never>(name: string, help: string, labels: readonly L[] = []) =>
  ({ name, type: 'gauge', help, labels }) as const;
const histogram = <L extends string = never>(
  name: string,
  help: string,
  labels: readonly L[] = [],
  buckets: readonly number[] = LATENCY_BUCKETS,
) => ({ name, type: 'histogram', help, labels, buckets }) as const;

/** Metric name prefix of each kind of service. */
export const METRIC_PREFIX = { orchestrator: 'orchestrator_', agent: 'agent_' } as const;

/** What every service exports, each name after the service's prefix (`orchestrator_ready`, `agent_ready`). */
export const BASE_METRICS = {
  httpRequests: counter(
    'http_requests_total',
    'HTTP requests answered, by route template, method and status code.',
    ['route', 'method', 'status'],
  ),
  httpDuration: histogram(
    'http_request_duration_seconds',
    'HTTP request latency from first byte read to response finished.',
    ['route', 'method', 'status'],
  ),
  openConnections: gauge('open_connections', 'Client TCP connections currently open.'),
  refusedConnections: counter(
    'connections_refused_total',
    'Connections refused because MAX_CONNECTIONS were already open.',
  ),
  maxConnections: gauge('max_connections', 'The configured concurrent connection cap.'),
  cpuLimit: gauge('cpu_limit_cores', 'CPU limit of this instance in cores (absent when unlimited).'),
  memoryLimit: gauge('memory_limit_bytes', 'Memory limit of this instance in bytes (absent when unlimited).'),
  ready: gauge('ready', '1 while the instance accepts traffic, 0 while starting or draining.'),
  redisConnected: gauge(
    'redis_connected',
    '1 while the Redis connection is ready; 0 means degraded (uncached) operation.',
  ),
  redisErrors: counter('redis_errors_total', 'Redis commands that failed or timed out, by operation.', [
    'operation',
  ]),
  eventLoopActive: counter(
    'event_loop_active_seconds_total',
    'Time the event loop spent running callbacks rather than waiting for I/O (performance.eventLoopUtilization()); its rate is the utilisation, 1 when saturated. Lag: the nodejs_eventloop_lag_* gauges.',
  ),
  buildInfo: gauge(
    'build_info',
    'Always 1; the labels name the build that runs: package version, git commit, Node.js version.',
    ['version', 'commit', 'node_version'],
  ),
} as const;

/** A base metric's full name for one kind of service. */
export const baseMetricName = (prefix: string, metric: keyof typeof BASE_METRICS) =>
  `${prefix}${BASE_METRICS[metric].name}`;

export const ORCHESTRATOR_METRICS = {
  cacheLookups: counter(
    'orchestrator_cache_lookups_total',
    'Task cache lookups by agent pool and result (hit, miss, stale, bypass, uncacheable, error).',
    ['pool', 'result'],
  ),
  cacheLocalHits: counter(
    'orchestrator_cache_local_hits_total',
    'Cache hits answered from the instance\u2019s memory tier without asking Redis (a subset of the hits).',
  ),
  cacheStaleAnswers: counter(
    'orchestrator_cache_stale_answers_total',
    'Answers served `X-Cache: STALE` because the pool failed, by pool and reason (unavailable, timeout, circuit_open, error).',
    ['pool', 'reason'],
  ),
  cacheVersions: counter(
    'orchestrator_cache_versions_total',
    'Versions of moving state that keyed a cache lookup, by pool and where they came from (pushed: the agents\u2019 published versions; resolve: asked the agent).',
    ['pool', 'via'],
  ),
  pushedVersionsCurrent: gauge(
    'orchestrator_pushed_versions_current',
    '1 while a pool\u2019s pushed versions are loaded and its agents were heard from within VERSIONS_MAX_SILENCE_MS.',
    ['pool'],
  ),
  pushedVersionsEntries: gauge(
    'orchestrator_pushed_versions_entries',
    'Sources (refs, notes, folders) in a pool\u2019s pushed versions held in memory.',
    ['pool'],
  ),
  pushedVersionsLoads: counter(
    'orchestrator_pushed_versions_loads_total',
    'Whole loads of a pool\u2019s pushed versions from Redis (start, reconnect, a missed notice, a replaced map).',
    ['pool'],
  ),
  cacheMemoryBytes: gauge(
    'orchestrator_cache_memory_bytes',
    'Bytes held by the in-process tiers, by tier (answers, key_memo); each is bounded by its setting.',
    ['tier'],
  ),
  cacheStoresSkipped: counter(
    'orchestrator_cache_stores_skipped_total',
    'Computed answers not stored, by reason (version_moved: the state changed while the agent worked).',
    ['reason'],
  ),
  singleFlightWaits: counter(
    'orchestrator_single_flight_waits_total',
    'Requests that waited for another request computing the same answer, by outcome.',
    ['outcome'],
  ),
  agentCalls: counter(
    'orchestrator_agent_calls_total',
    'Calls to agent pools by pool and outcome (success, client_error, error, timeout, short_circuit).',
    ['pool', 'outcome'],
  ),
  agentCallDuration: histogram(
    'orchestrator_agent_call_duration_seconds',
    'Latency of calls to agent pools.',
    ['pool', 'outcome'],
  ),
  breakerState: gauge(
    'orchestrator_circuit_breaker_state',
    'Circuit breaker state per agent pool: 1 for the current state (closed, half_open, open), 0 otherwise.',
    ['pool', 'state'],
  ),
  breakerTransitions: counter(
    'orchestrator_circuit_breaker_transitions_total',
    'Breaker state changes per pool, by new state and origin (local failures or another instance).',
    ['pool', 'state', 'origin'],
  ),
  poolInstances: gauge(
    'orchestrator_agent_pool_instances',
    'Agent instances with a live heartbeat in Redis, per pool.',
    ['pool'],
  ),
  poolHealthyInstances: gauge(
    'orchestrator_agent_pool_healthy_instances',
    'Agent instances reporting status ok, per pool.',
    ['pool'],
  ),
  poolUp: gauge(
    'orchestrator_agent_pool_up',
    '1 when the pool has a healthy instance and its breaker is not open, else 0.',
    ['pool'],
  ),
  queueLength: gauge(
    'orchestrator_queue_length',
    'Async tasks queued or running, per pool (length of the pool\u2019s Redis stream).',
    ['pool'],
  ),
  queueOldestAge: gauge(
    'orchestrator_queue_oldest_pending_age_seconds',
    'Age of the oldest async task not yet finished, per pool (0 when none).',
    ['pool'],
  ),
  asyncTasks: counter(
    'orchestrator_async_tasks_total',
    'Async tasks by pool and event (accepted, succeeded, failed, reclaimed, rejected).',
    ['pool', 'event'],
  ),
  sessionOps: counter(
    'orchestrator_session_operations_total',
    'Session operations by operation and result (ok, not_found, conflict, error).',
    ['operation', 'result'],
  ),
  authFailures: counter(
    'orchestrator_auth_failures_total',
    'Requests to /v1 refused for a missing or wrong API key.',
  ),
} as const;

/** Every agent pool's instances export these, labelled with `pool`. */
export const AGENT_METRICS = {
  actions: counter(
    'agent_actions_total',
    'Actions run, by action and outcome (success, invalid_input, client_error, error).',
    ['action', 'outcome'],
  ),
  actionDuration: histogram('agent_action_duration_seconds', 'Action latency, by action and outcome.', [
    'action',
    'outcome',
  ]),
} as const;

export const GIT_AGENT_METRICS = {
  commands: counter(
    'agent_git_commands_total',
    'git commands run, by subcommand and outcome (ok, failed, timeout, memory, truncated, aborted, busy).',
    ['command', 'outcome'],
  ),
  commandDuration: histogram('agent_git_command_duration_seconds', 'git command latency, by subcommand.', [
    'command',
  ]),
  truncations: counter(
    'agent_git_output_truncations_total',
    'git outputs cut at the output cap (the answer reports `truncated`), by subcommand.',
    ['command'],
  ),
  inFlight: gauge(
    'agent_git_commands_in_flight',
    'git processes running now (bounded by GIT_MAX_CONCURRENT).',
  ),
  repos: gauge('agent_git_repos', 'Repositories found under GIT_REPOS_ROOT at the last health check.'),
  maxMemoryBytes: gauge(
    'agent_git_max_memory_bytes',
    'Address-space bound of each git process (GIT_MAX_MEMORY_BYTES; 0 is unbounded).',
  ),
} as const;

export const LLM_ROUTER_METRICS = {
  requests: counter(
    'agent_llm_provider_requests_total',
    'Provider calls by provider, model and outcome (success, rate_limited, server_error, timeout, connection_error, auth_error, rejected, aborted, circuit_open).',
    ['provider', 'model', 'outcome'],
  ),
  duration: histogram(
    'agent_llm_provider_request_duration_seconds',
    'Provider call latency by provider, model and outcome.',
    ['provider', 'model', 'outcome'],
  ),
  tokensIn: counter(
    'agent_llm_prompt_tokens_total',
    'Prompt tokens the providers reported, by provider and model.',
    ['provider', 'model'],
  ),
  tokensOut: counter(
    'agent_llm_completion_tokens_total',
    'Completion tokens the providers reported, by provider and model.',
    ['provider', 'model'],
  ),
  retries: counter(
    'agent_llm_retries_total',
    'Calls repeated to a provider already tried for the same request, by provider and reason.',
    ['provider', 'reason'],
  ),
  fallbacks: counter(
    'agent_llm_fallbacks_total',
    'Requests moved from one provider to another after a failure, by the provider left and the one taken.',
    ['from', 'to'],
  ),
  breakerState: gauge(
    'agent_llm_provider_breaker_state',
    'Provider circuit breaker state: 1 for the current state, 0 for the others.',
    ['provider', 'state'],
  ),
  chats: counter(
    'agent_llm_chat_requests_total',
    'Chat requests by model and final outcome (success, client_error, exhausted).',
    ['model', 'outcome'],
  ),
} as const;

export const OBSIDIAN_AGENT_METRICS = {
  notes: gauge('agent_obsidian_notes', 'Notes in the vault at the last scan.'),
  indexRebuilds: counter(
    'agent_obsidian_index_rebuilds_total',
    'Times the search index was brought up to date with the vault, by kind (full, incremental).',
    ['kind'],
  ),
  notesIndexed: counter(
    'agent_obsidian_notes_indexed_total',
    'Notes read and parsed into the search index (a full build counts every note).',
  ),
  indexBytes: gauge(
    'agent_obsidian_index_bytes',
    'Estimated heap bytes of the search index and link graph (bounded by OBSIDIAN_INDEX_MAX_BYTES).',
  ),
  indexMaxBytes: gauge(
    'agent_obsidian_index_max_bytes',
    'The byte budget of the search index (OBSIDIAN_INDEX_MAX_BYTES).',
  ),
  notesWithoutBody: gauge(
    'agent_obsidian_index_notes_without_body',
    'Notes indexed without their body because the index budget was full: found by title, aliases, tags and headings only.',
  ),
  scanDuration: histogram(
    'agent_obsidian_vault_scan_duration_seconds',
    'Time to list and stat every note of the vault.',
    [],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  ),
  writes: counter(
    'agent_obsidian_writes_total',
    'Notes written, by action (write, append) and whether the note was created.',
    ['action', 'created'],
  ),
  writeConflicts: counter(
    'agent_obsidian_write_conflicts_total',
    'Writes refused with 409 because the note was not at the expected version.',
  ),
  pathEscapes: counter(
    'agent_obsidian_path_escapes_total',
    'Requests refused because a path resolved outside the vault through a symbolic link.',
  ),
} as const;

/** Every metric name the services export (base metrics under both prefixes; histograms without suffixes). */
export function serviceMetricNames(): string[] {
  const base = Object.values(METRIC_PREFIX).flatMap((prefix) =>
    Object.values(BASE_METRICS).map((m) => `${prefix}${m.name}`),
  );
  const own = [
    ORCHESTRATOR_METRICS,
    AGENT_METRICS,
    GIT_AGENT_METRICS,
    LLM_ROUTER_METRICS,
    OBSIDIAN_AGENT_METRICS,
  ].flatMap((group) => Object.values(group).map((m: MetricFact) => m.name));
  return [...base, ...own];
}
