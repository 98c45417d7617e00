import type { AlertingRule, Context } from '../lib.ts';

/**
 * The seed's 6.3 "agent health degraded for 10m". A pool is degraded when, in the orchestrators' shared
 * view, fewer of its instances report healthy than have a live heartbeat, or it is down: no healthy
 * instance, or its circuit breaker open (orchestrator_agent_pool_up is 0 in both cases).
 */
export function agentAlerts(ctx: Context): AlertingRule[] {
  const c = ctx.config;
  const orchestrator = ctx.job(c.jobs.orchestrator);
  const pool = ctx.by('pool');
  const healthy = `max ${pool} (orchestrator_agent_pool_healthy_instances{${orchestrator}})`;
  return [
    ctx.alert({
      name: 'AgentHealthDegraded',
      expr: `
        (
          ${healthy}
          < max ${pool} (orchestrator_agent_pool_instances{${orchestrator}})
        )
        or
        (
          ${healthy}
          and ${ctx.on('pool')}
          (min ${pool} (orchestrator_agent_pool_up{${orchestrator}}) == 0)
        )`,
      for: c.agentHealth.for,
      severity: c.agentHealth.severity,
      component: 'agents',
      summary: 'An agent pool is degraded: some instances unhealthy, none healthy, or its breaker open.',
      description: `Agent pool {{ $labels.pool }} is degraded: {{ $value }} healthy instance(s), fewer than have a heartbeat, or the pool is down (no healthy instance or circuit breaker open).`,
      panel: { dashboard: 'agents', panel: 'poolHealthyInstances' },
    }),
  ];
}
