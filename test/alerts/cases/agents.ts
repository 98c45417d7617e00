import type { CaseFile } from '../types.ts';
import { inOtherNamespace, OTHER_NAMESPACE } from './series.ts';

/** The pool view as two orchestrators export it (both read the same heartbeats in Redis). */
function pool(name: string, instances: string, healthy: string, up: string) {
  const series: Record<string, string> = {};
  for (const orch of ['orch-1:8080', 'orch-2:8080']) {
    const labels = `job="master-orchestrator", instance="${orch}", pool="${name}"`;
    series[`orchestrator_agent_pool_instances{${labels}}`] = instances;
    series[`orchestrator_agent_pool_healthy_instances{${labels}}`] = healthy;
    series[`orchestrator_agent_pool_up{${labels}}`] = up;
  }
  return series;
}

const degraded = (pool: string, healthy: number) =>
  `Agent pool ${pool} is degraded: ${healthy} healthy instance(s), fewer than have a heartbeat, or the pool is down (no healthy instance or circuit breaker open).`;

export function agentCases(): CaseFile {
  return {
    name: 'agents',
    mode: 'normal',
    interval: '1m',
    cases: [
      {
        name: '2 of 3 instances healthy for 12m',
        alert: 'AgentHealthDegraded',
        series: pool('git', '3x15', '2x15', '1x15'),
        at: '12m',
        fires: [{ labels: { pool: 'git' }, description: degraded('git', 2) }],
      },
      {
        name: 'no instance registered at all',
        alert: 'AgentHealthDegraded',
        series: pool('llm', '0x15', '0x15', '0x15'),
        at: '12m',
        fires: [{ labels: { pool: 'llm' }, description: degraded('llm', 0) }],
      },
      {
        name: 'every instance healthy but the circuit breaker open',
        alert: 'AgentHealthDegraded',
        series: pool('obsidian', '3x15', '3x15', '0x15'),
        at: '12m',
        fires: [{ labels: { pool: 'obsidian' }, description: degraded('obsidian', 3) }],
      },
      {
        name: 'degraded in another namespace, healthy here (same pool name)',
        alert: 'AgentHealthDegraded',
        series: {
          ...pool('git', '3x15', '3x15', '1x15'),
          ...inOtherNamespace(pool('git', '3x15', '1x15', '1x15')),
        },
        at: '12m',
        fires: [{ labels: { pool: 'git', namespace: OTHER_NAMESPACE }, description: degraded('git', 1) }],
      },
      {
        name: 'every instance healthy',
        alert: 'AgentHealthDegraded',
        series: pool('git', '3x15', '3x15', '1x15'),
        at: '12m',
        fires: [],
      },
      {
        name: 'degraded for less than 10m',
        alert: 'AgentHealthDegraded',
        series: pool('git', '3x15', '3x3 2x11', '1x15'),
        at: '12m',
        fires: [],
      },
      {
        name: 'no pool metrics (no orchestrator scraped)',
        alert: 'AgentHealthDegraded',
        series: { 'up{job="master-orchestrator", instance="orch-1:8080"}': '0x15' },
        at: '12m',
        fires: [],
      },
    ],
  };
}
