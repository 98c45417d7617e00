/**
 * The agent pools and every name each one goes by: the `agent` value of a task (and the `pool` metric
 * label), its Kubernetes Service, `app` label and Deployment, its Prometheus job, the orchestrator
 * setting that holds its URL, and its entry point.
 */
import { PORTS } from './ports.ts';

export const AGENT_POOLS = ['git', 'llm', 'obsidian'] as const;
export type AgentPool = (typeof AGENT_POOLS)[number];

export type PoolUrlEnv = `AGENT_${Uppercase<AgentPool>}_URL`;

export interface PoolFacts {
  pool: AgentPool;
  /** The Kubernetes Service, the pods' `app` label, the Deployment, and the local stack's process prefix. */
  service: string;
  /** Prometheus `job` label. */
  job: string;
  /** `kubectl` name of the workload. */
  workload: string;
  /** The orchestrator's setting with the pool's base URL. */
  urlEnv: PoolUrlEnv;
  /** The pool's URL inside the cluster (its Service). */
  clusterUrl: string;
  /** The service's entry point, from the repository root. */
  entry: string;
  title: string;
  /** Short name for panel titles. */
  label: string;
}

const pool = (p: AgentPool, service: string, title: string, label: string): PoolFacts => ({
  pool: p,
  service,
  job: service,
  workload: `deployment/${service}`,
  urlEnv: `AGENT_${p.toUpperCase() as Uppercase<AgentPool>}_URL`,
  clusterUrl: `http://${service}:${PORTS.agent}`,
  entry: `services/${service}/main.ts`,
  title,
  label,
});

export const POOLS: Record<AgentPool, PoolFacts> = {
  git: pool('git', 'git-agent', 'Git agent pool', 'Git'),
  llm: pool('llm', 'llm-router', 'LLM router pool', 'LLM'),
  obsidian: pool('obsidian', 'obsidian-agent', 'Obsidian agent pool', 'Obsidian'),
};

/** The pools in AGENT_POOLS order. */
export const POOL_LIST: readonly PoolFacts[] = AGENT_POOLS.map((p) => POOLS[p]);
