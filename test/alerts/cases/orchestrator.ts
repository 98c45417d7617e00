import type { CaseFile } from '../types.ts';
import { inOtherNamespace, OTHER_NAMESPACE } from './series.ts';

const JOB = 'job="master-orchestrator"';
const requests = (status: string, route = '/v1/tasks') =>
  `orchestrator_http_requests_total{${JOB}, instance="orch-1:8080", route="${route}", method="POST", status="${status}"}`;
const lookups = (result: string) =>
  `orchestrator_cache_lookups_total{${JOB}, instance="orch-1:8080", pool="git", result="${result}"}`;
const breaker = (instance: string, state: string) =>
  `orchestrator_circuit_breaker_state{${JOB}, instance="${instance}", pool="llm", state="${state}"}`;
const queue = (metric: string) => `orchestrator_${metric}{${JOB}, instance="orch-1:8080", pool="obsidian"}`;
const redis = `orchestrator_redis_connected{${JOB}, instance="orch-1:8080"}`;

export function orchestratorCases(): CaseFile {
  return {
    name: 'orchestrator',
    mode: 'normal',
    interval: '1m',
    cases: [
      // OrchestratorHighErrorRate: 1% of responses 5xx for 5m.
      {
        name: '2% of responses 5xx',
        alert: 'OrchestratorHighErrorRate',
        series: { [requests('200')]: '0+980x12', [requests('500')]: '0+20x12' },
        at: '10m',
        fires: [
          {
            labels: { job: 'master-orchestrator' },
            description:
              '2% of the responses of job master-orchestrator were 5xx over the last 5m (threshold 1%).',
          },
        ],
      },
      {
        name: '2% 5xx in one namespace, none in another as busy: each installation on its own',
        alert: 'OrchestratorHighErrorRate',
        series: {
          [requests('200')]: '0+980x12',
          [requests('500')]: '0+20x12',
          ...inOtherNamespace({ [requests('200')]: '0+1000x12' }),
        },
        at: '10m',
        fires: [
          {
            labels: { job: 'master-orchestrator' },
            description:
              '2% of the responses of job master-orchestrator were 5xx over the last 5m (threshold 1%).',
          },
        ],
      },
      {
        name: '0.9% of responses 5xx, just under the threshold',
        alert: 'OrchestratorHighErrorRate',
        series: { [requests('200')]: '0+991x12', [requests('500')]: '0+9x12' },
        at: '10m',
        fires: [],
      },
      {
        name: '2% of responses 5xx for less than 5m',
        alert: 'OrchestratorHighErrorRate',
        series: { [requests('200')]: '0+980x12', [requests('500')]: '0+20x12' },
        at: '5m',
        fires: [],
      },
      {
        name: 'no traffic',
        alert: 'OrchestratorHighErrorRate',
        series: { [requests('200')]: '0x12', [requests('500')]: '5x12' },
        at: '10m',
        fires: [],
      },
      {
        name: 'only health probes, all 503 (draining)',
        alert: 'OrchestratorHighErrorRate',
        series: { [requests('503', '/health')]: '0+60x12', [requests('200', '/metrics')]: '0+12x12' },
        at: '10m',
        fires: [],
      },
      // OrchestratorCacheHitRatioLow: hits / (hits + misses) < 50% for 15m.
      {
        name: '40% hits',
        alert: 'OrchestratorCacheHitRatioLow',
        series: {
          [lookups('hit')]: '0+40x25',
          [lookups('miss')]: '0+60x25',
          [lookups('bypass')]: '0+500x25',
        },
        at: '20m',
        fires: [
          {
            labels: { job: 'master-orchestrator' },
            description:
              'The cache hit ratio (hits / (hits + misses)) of job master-orchestrator is 40% over the last 5m (threshold 50%).',
          },
        ],
      },
      {
        name: 'only misses (no hit series at all)',
        alert: 'OrchestratorCacheHitRatioLow',
        series: { [lookups('miss')]: '0+60x25' },
        at: '20m',
        fires: [
          {
            labels: { job: 'master-orchestrator' },
            description:
              'The cache hit ratio (hits / (hits + misses)) of job master-orchestrator is 0% over the last 5m (threshold 50%).',
          },
        ],
      },
      {
        name: '51% hits, just over the threshold',
        alert: 'OrchestratorCacheHitRatioLow',
        series: { [lookups('hit')]: '0+51x25', [lookups('miss')]: '0+49x25' },
        at: '20m',
        fires: [],
      },
      {
        name: '40% hits for less than 15m',
        alert: 'OrchestratorCacheHitRatioLow',
        series: { [lookups('hit')]: '0+40x25', [lookups('miss')]: '0+60x25' },
        at: '15m',
        fires: [],
      },
      {
        name: 'no lookups (no traffic, or only bypass while Redis is down)',
        alert: 'OrchestratorCacheHitRatioLow',
        series: { [lookups('hit')]: '7x25', [lookups('miss')]: '9x25', [lookups('bypass')]: '0+100x25' },
        at: '20m',
        fires: [],
      },
      // OrchestratorCircuitBreakerOpen: open (within 1m) for 2m.
      {
        name: 'open on two instances',
        alert: 'OrchestratorCircuitBreakerOpen',
        series: {
          [breaker('orch-1:8080', 'open')]: '0 0 1x8',
          [breaker('orch-2:8080', 'open')]: '0 0 1x8',
          [breaker('orch-1:8080', 'closed')]: '1 1 0x8',
          [breaker('orch-2:8080', 'closed')]: '1 1 0x8',
        },
        at: '6m',
        fires: [
          {
            labels: { pool: 'llm' },
            description:
              'The circuit breaker of agent pool llm was open within the last 1m on 2 orchestrator instance(s); tasks for the pool are answered 503 without calling it.',
          },
        ],
      },
      {
        name: 'cycling open / half-open under traffic',
        alert: 'OrchestratorCircuitBreakerOpen',
        series: {
          [breaker('orch-1:8080', 'open')]: '0 0 1 0 1 0 1 0 1 0',
          [breaker('orch-1:8080', 'half_open')]: '0 0 0 1 0 1 0 1 0 1',
        },
        at: '7m',
        fires: [
          {
            labels: { pool: 'llm' },
            description:
              'The circuit breaker of agent pool llm was open within the last 1m on 1 orchestrator instance(s); tasks for the pool are answered 503 without calling it.',
          },
        ],
      },
      {
        name: 'open for less than 2m',
        alert: 'OrchestratorCircuitBreakerOpen',
        series: { [breaker('orch-1:8080', 'open')]: '0 0 1x8' },
        at: '3m',
        fires: [],
      },
      {
        name: 'half-open and idle (no traffic since it opened)',
        alert: 'OrchestratorCircuitBreakerOpen',
        series: {
          [breaker('orch-1:8080', 'open')]: '0 1 0x10',
          [breaker('orch-1:8080', 'half_open')]: '0 0 1x10',
        },
        at: '8m',
        fires: [],
      },
      {
        name: 'open in another namespace only',
        alert: 'OrchestratorCircuitBreakerOpen',
        series: {
          [breaker('orch-1:8080', 'open')]: '0x10',
          ...inOtherNamespace({ [breaker('orch-1:8080', 'open')]: '0 0 1x8' }),
        },
        at: '6m',
        fires: [
          {
            labels: { pool: 'llm', namespace: OTHER_NAMESPACE },
            description:
              'The circuit breaker of agent pool llm was open within the last 1m on 1 orchestrator instance(s); tasks for the pool are answered 503 without calling it.',
          },
        ],
      },
      {
        name: 'closed',
        alert: 'OrchestratorCircuitBreakerOpen',
        series: { [breaker('orch-1:8080', 'open')]: '0x10', [breaker('orch-1:8080', 'closed')]: '1x10' },
        at: '8m',
        fires: [],
      },
      // OrchestratorQueueBacklogGrowing: growing over 10m, oldest task older than 2m, for 10m.
      {
        name: 'growing by 5 a minute, oldest task waiting since the start',
        alert: 'OrchestratorQueueBacklogGrowing',
        series: { [queue('queue_length')]: '0+5x20', [queue('queue_oldest_pending_age_seconds')]: '0+60x20' },
        at: '15m',
        fires: [
          {
            labels: { pool: 'obsidian' },
            description:
              'The async queue of pool obsidian holds 75 tasks, grew over the last 10m, and its oldest unfinished task is older than 120s.',
          },
        ],
      },
      {
        name: 'long but draining',
        alert: 'OrchestratorQueueBacklogGrowing',
        series: {
          [queue('queue_length')]: '200-5x20',
          [queue('queue_oldest_pending_age_seconds')]: '600+60x20',
        },
        at: '15m',
        fires: [],
      },
      {
        name: 'growing but every task younger than 2m (it is being worked)',
        alert: 'OrchestratorQueueBacklogGrowing',
        series: { [queue('queue_length')]: '0+5x20', [queue('queue_oldest_pending_age_seconds')]: '110x20' },
        at: '15m',
        fires: [],
      },
      {
        name: 'growing for less than 10m',
        alert: 'OrchestratorQueueBacklogGrowing',
        series: { [queue('queue_length')]: '0+5x20', [queue('queue_oldest_pending_age_seconds')]: '0+60x20' },
        at: '12m',
        fires: [],
      },
      {
        name: 'empty queue',
        alert: 'OrchestratorQueueBacklogGrowing',
        series: { [queue('queue_length')]: '0x20', [queue('queue_oldest_pending_age_seconds')]: '0x20' },
        at: '15m',
        fires: [],
      },
      // OrchestratorRedisDisconnected: for 2m.
      {
        name: 'disconnected from minute 2',
        alert: 'OrchestratorRedisDisconnected',
        series: { [redis]: '1 1 0x6' },
        at: '5m',
        fires: [
          {
            labels: { job: 'master-orchestrator', instance: 'orch-1:8080' },
            description:
              'Orchestrator orch-1:8080 has had no Redis connection (orchestrator_redis_connected = 0); it answers uncached (X-Cache: BYPASS) and refuses sessions and async tasks with 503.',
          },
        ],
      },
      {
        name: 'disconnected for less than 2m',
        alert: 'OrchestratorRedisDisconnected',
        series: { [redis]: '1 1 0x6' },
        at: '3m',
        fires: [],
      },
      {
        name: 'connected',
        alert: 'OrchestratorRedisDisconnected',
        series: { [redis]: '1x8' },
        at: '5m',
        fires: [],
      },
    ],
  };
}
