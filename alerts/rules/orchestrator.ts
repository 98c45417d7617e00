import { num, type AlertingRule, type Context } from '../lib.ts';
import { recordName } from './slo.ts';

/** The orchestrator's own alerts: error rate and cache (the seed's 6.3), breakers, queues, Redis link. */
export function orchestratorAlerts(ctx: Context): AlertingRule[] {
  const c = ctx.config;
  const orchestrator = ctx.job(c.jobs.orchestrator);
  const { errorRate, cacheHitRatio, circuitBreaker, queueBacklog, orchestratorRedis } = c;
  const breakerWindow = ctx.range(circuitBreaker.window);
  const derivWindow = ctx.range(queueBacklog.derivWindow);
  const oldestAge = ctx.seconds(queueBacklog.minOldestAge);
  const pool = ctx.by('pool');

  return [
    ctx.alert({
      name: 'OrchestratorHighErrorRate',
      // The recorded ratio is absent without traffic (its denominator is guarded with > 0).
      expr: `${recordName('availability_errors', errorRate.window)}{${orchestrator}} > ${num(errorRate.threshold)}`,
      for: errorRate.for,
      severity: errorRate.severity,
      component: 'orchestrator',
      summary: `More than ${num(errorRate.threshold * 100)}% of orchestrator responses are server errors (5xx).`,
      description: `{{ $value | humanizePercentage }} of the responses of job {{ $labels.job }} were 5xx over the last ${ctx.range(errorRate.window)} (threshold ${num(errorRate.threshold * 100)}%).`,
      panel: { dashboard: 'overview', panel: 'errorRate' },
    }),
    ctx.alert({
      name: 'OrchestratorCacheHitRatioLow',
      expr: `${recordName('cache_hits', cacheHitRatio.window)}{${orchestrator}} < ${num(cacheHitRatio.threshold)}`,
      for: cacheHitRatio.for,
      severity: cacheHitRatio.severity,
      component: 'orchestrator',
      summary: `Fewer than ${num(cacheHitRatio.threshold * 100)}% of cache lookups are hits.`,
      description: `The cache hit ratio (hits / (hits + misses)) of job {{ $labels.job }} is {{ $value | humanizePercentage }} over the last ${ctx.range(cacheHitRatio.window)} (threshold ${num(cacheHitRatio.threshold * 100)}%).`,
      panel: { dashboard: 'overview', panel: 'cacheHitRatio' },
    }),
    ctx.alert({
      name: 'OrchestratorCircuitBreakerOpen',
      // An open breaker half-opens after BREAKER_RESET_TIMEOUT_MS and opens again on the next failure:
      // max_over_time bridges those gaps, and an idle half-open breaker stops counting after the window.
      expr: `
        sum ${ctx.by('pool')} (
          max_over_time(orchestrator_circuit_breaker_state{${orchestrator}, state="open"}[${breakerWindow}])
        ) > 0`,
      for: circuitBreaker.for,
      severity: circuitBreaker.severity,
      component: 'orchestrator',
      summary: 'The circuit breaker of an agent pool is open: calls to the pool are refused.',
      description: `The circuit breaker of agent pool {{ $labels.pool }} was open within the last ${breakerWindow} on {{ $value }} orchestrator instance(s); tasks for the pool are answered 503 without calling it.`,
      panel: { dashboard: 'orchestrator', panel: 'breakerState' },
    }),
    ctx.alert({
      name: 'OrchestratorQueueBacklogGrowing',
      // Every orchestrator reports the same Redis stream, hence max by pool.
      expr: `
        max ${pool} (orchestrator_queue_length{${orchestrator}})
        and ${ctx.on('pool')}
        (max ${pool} (deriv(orchestrator_queue_length{${orchestrator}}[${derivWindow}])) > 0)
        and ${ctx.on('pool')}
        (max ${pool} (orchestrator_queue_oldest_pending_age_seconds{${orchestrator}}) > ${oldestAge})`,
      for: queueBacklog.for,
      severity: queueBacklog.severity,
      component: 'orchestrator',
      summary: 'An async task queue keeps growing and its oldest task keeps waiting.',
      description: `The async queue of pool {{ $labels.pool }} holds {{ $value }} tasks, grew over the last ${derivWindow}, and its oldest unfinished task is older than ${oldestAge}s.`,
      panel: { dashboard: 'orchestrator', panel: 'queueOldestAge' },
    }),
    ctx.alert({
      name: 'OrchestratorRedisDisconnected',
      expr: `orchestrator_redis_connected{${orchestrator}} == 0`,
      for: orchestratorRedis.for,
      severity: orchestratorRedis.severity,
      component: 'orchestrator',
      summary: 'An orchestrator instance has no Redis connection and answers uncached.',
      description: `Orchestrator {{ $labels.instance }} has had no Redis connection (orchestrator_redis_connected = {{ $value }}); it answers uncached (X-Cache: BYPASS) and refuses sessions and async tasks with 503.`,
      panel: { dashboard: 'orchestrator', panel: 'redisErrors' },
    }),
  ];
}
