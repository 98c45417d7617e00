import { num, type AlertingRule, type Context } from '../lib.ts';

/**
 * A saturated event loop, for orchestrator and agent instances. Each service runs its JavaScript on one
 * event loop, so it saturates near one core: the CPU alerts (80% of a 2-core limit) fire late or never.
 * The services count the loop's busy time (`*_event_loop_active_seconds_total`); its rate is the share
 * of time the loop was busy.
 */
export function eventLoopAlerts(ctx: Context): AlertingRule[] {
  const { jobs, eventLoop: e } = ctx.config;
  const agents = `job=~"${[jobs.gitAgent, jobs.llmRouter, jobs.obsidianAgent].join('|')}"`;
  const window = ctx.range(e.window);
  const percent = `${num(e.utilisation * 100)}%`;
  const busy = (prefix: string, selector: string) =>
    `rate(${prefix}_event_loop_active_seconds_total{${selector}}[${window}]) > ${num(e.utilisation)}`;
  const impact = 'requests wait for it whatever the CPU limit';
  return [
    ctx.alert({
      name: 'OrchestratorEventLoopSaturated',
      expr: busy('orchestrator', ctx.job(jobs.orchestrator)),
      for: e.for,
      severity: e.severity,
      component: 'orchestrator',
      summary: `An orchestrator instance's event loop is busy more than ${percent} of the time.`,
      description: `The event loop of orchestrator {{ $labels.instance }} was busy {{ $value | humanizePercentage }} of the time over the last ${window} (threshold ${percent}): ${impact}.`,
      panel: { dashboard: 'overview', panel: 'orchestratorEventLoop' },
    }),
    ctx.alert({
      name: 'AgentEventLoopSaturated',
      expr: busy('agent', agents),
      for: e.for,
      severity: e.severity,
      component: 'agents',
      summary: `An agent instance's event loop is busy more than ${percent} of the time.`,
      description: `The event loop of agent {{ $labels.instance }} of pool {{ $labels.pool }} (job {{ $labels.job }}) was busy {{ $value | humanizePercentage }} of the time over the last ${window} (threshold ${percent}): ${impact}.`,
      panel: { dashboard: 'agents', panel: 'agentEventLoop' },
    }),
  ];
}
