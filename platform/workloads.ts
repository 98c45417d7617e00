/**
 * Every workload that is not an agent pool, with the names it goes by: `app` label, `kubectl` workload,
 * Prometheus job. The agent pools are in pools.ts.
 */
import { METRIC_PREFIX } from './metrics.ts';
import { POOLS } from './pools.ts';

export const NAMESPACE = 'phoenix-orch';

export const ORCHESTRATOR = {
  /** The seed's name: Deployment, Service, `app` label and the 6.2 scrape job. */
  service: 'master-orchestrator',
  job: 'master-orchestrator',
  workload: 'deployment/master-orchestrator',
  headlessService: 'master-orchestrator-headless',
  /** The service's entry point, from the repository root. */
  entry: 'services/orchestrator/main.ts',
  /** Every orchestrator metric starts with it; the seed's 6.2 job keeps only these. */
  metricPrefix: METRIC_PREFIX.orchestrator,
} as const;

export const REDIS = {
  app: 'redis',
  job: 'redis',
  workload: 'statefulset/redis',
  headlessService: 'redis-headless',
  /** The Sentinel master name. */
  masterName: 'phoenix',
} as const;

export const SENTINEL = { job: 'redis-sentinel' } as const;
export const LOAD_BALANCER = { app: 'haproxy', job: 'haproxy', workload: 'deployment/haproxy' } as const;
export const PUSHGATEWAY = { app: 'pushgateway', job: 'pushgateway' } as const;

/** Prometheus `job` label of each scraped component: the same on the local stack and in Kubernetes. */
export const JOBS = {
  orchestrator: ORCHESTRATOR.job,
  gitAgent: POOLS.git.job,
  llmRouter: POOLS.llm.job,
  obsidianAgent: POOLS.obsidian.job,
  redis: REDIS.job,
  redisSentinel: SENTINEL.job,
  haproxy: LOAD_BALANCER.job,
  pushgateway: PUSHGATEWAY.job,
} as const;
