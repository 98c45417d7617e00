/** Every dashboard, by catalog key, built from its module. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { DashboardKey } from '../platform/dashboards.ts';
import { agentsDashboard } from './agents.ts';
import { loadBalancerDashboard } from './load-balancer.ts';
import { loadTestsDashboard } from './load-tests.ts';
import { orchestratorDashboard } from './orchestrator.ts';
import { overviewDashboard } from './overview.ts';
import { redisDashboard } from './redis.ts';
import { sloDashboard } from './slo.ts';

export const builders: Record<DashboardKey, () => Dashboard> = {
  overview: overviewDashboard,
  orchestrator: orchestratorDashboard,
  agents: agentsDashboard,
  redis: redisDashboard,
  loadBalancer: loadBalancerDashboard,
  loadTests: loadTestsDashboard,
  slo: sloDashboard,
};

/** Every dashboard built, in catalog order. */
export function buildAll(): { key: DashboardKey; dashboard: Dashboard }[] {
  return (Object.keys(builders) as DashboardKey[]).map((key) => ({ key, dashboard: builders[key]() }));
}
