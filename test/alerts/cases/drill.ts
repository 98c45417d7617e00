import type { CaseFile } from '../types.ts';

/**
 * The drill rule file (windows and `for` divided by 30, floored at 20 s / 10 s) evaluated every 5 s, as
 * the local stack's Prometheus runs it: each fault below starts at 30 s and must fire by 60 s later.
 */
const orch = 'job="master-orchestrator", instance="orch-1:8080"';
const requests = (status: string) =>
  `orchestrator_http_requests_total{${orch}, route="/v1/tasks", method="POST", status="${status}"}`;
const pool = (metric: string) => `orchestrator_agent_pool_${metric}{${orch}, pool="git"}`;

export function drillCases(): CaseFile {
  return {
    name: 'drill',
    mode: 'drill',
    interval: '5s',
    cases: [
      {
        name: 'drill: orchestrator killed at 30s',
        alert: 'OrchestratorTargetDown',
        series: { [`up{${orch}}`]: '1x5 0x20' },
        at: '60s',
        fires: [
          {
            labels: { job: 'master-orchestrator', instance: 'orch-1:8080' },
            description:
              'Target orch-1:8080 of job master-orchestrator is down: Prometheus cannot scrape it.',
          },
        ],
      },
      {
        name: 'drill: orchestrator killed 5s ago (still pending)',
        alert: 'OrchestratorTargetDown',
        series: { [`up{${orch}}`]: '1x5 0x20' },
        at: '35s',
        fires: [],
      },
      {
        name: 'drill: 20% 5xx from 30s',
        alert: 'OrchestratorHighErrorRate',
        series: { [requests('200')]: '0+100x6 680+80x23', [requests('500')]: '0x6 20+20x23' },
        at: '90s',
        fires: [
          {
            labels: { job: 'master-orchestrator' },
            description:
              '20% of the responses of job master-orchestrator were 5xx over the last 20s (threshold 1%).',
          },
        ],
      },
      {
        name: 'drill: Redis primary killed at 30s',
        alert: 'RedisNoPrimary',
        series: {
          'redis_instance_info{job="redis", instance="redis-0:6379", role="master"}': '1x5 stale',
          'redis_up{job="redis", instance="redis-0:6379"}': '1x5 0x20',
        },
        at: '60s',
        fires: [
          {
            labels: {},
            description:
              '0 reachable Redis server(s) of job redis report role master: the orchestrators answer uncached and refuse sessions and async tasks until Sentinel promotes a replica.',
          },
        ],
      },
      {
        name: 'drill: one git agent unhealthy from 30s',
        alert: 'AgentHealthDegraded',
        series: {
          [pool('instances')]: '3x25',
          [pool('healthy_instances')]: '3x5 2x20',
          [pool('up')]: '1x25',
        },
        at: '60s',
        fires: [
          {
            labels: { pool: 'git' },
            description:
              'Agent pool git is degraded: 2 healthy instance(s), fewer than have a heartbeat, or the pool is down (no healthy instance or circuit breaker open).',
          },
        ],
      },
    ],
  };
}
