import { num, type AlertingRule, type Context } from '../lib.ts';

/** The seed's 6.3 "instance CPU/memory > 80% for 5m", for orchestrator and agent instances. */
export function resourceAlerts(ctx: Context): AlertingRule[] {
  const { jobs, resources: r } = ctx.config;
  const orchestrator = ctx.job(jobs.orchestrator);
  const agents = `job=~"${[jobs.gitAgent, jobs.llmRouter, jobs.obsidianAgent].join('|')}"`;
  const threshold = num(r.threshold);
  const percent = `${num(r.threshold * 100)}%`;
  const window = ctx.range(r.cpuRateWindow);
  // Limits are absent (or 0) when the instance runs unlimited: `> 0` drops those instead of dividing by 0.
  // group_left keeps every label of the usage series (pool for agents), not only job and instance.
  const cpu = (prefix: string, selector: string) => `
    (
      rate(${prefix}_process_cpu_seconds_total{${selector}}[${window}])
      / ${ctx.on('job', 'instance')} group_left ()
      (${prefix}_cpu_limit_cores{${selector}} > 0)
    ) > ${threshold}`;
  const memory = (prefix: string, selector: string) => `
    (
      ${prefix}_process_resident_memory_bytes{${selector}}
      / ${ctx.on('job', 'instance')} group_left ()
      (${prefix}_memory_limit_bytes{${selector}} > 0)
    ) > ${threshold}`;

  return [
    ctx.alert({
      name: 'OrchestratorHighCPU',
      expr: cpu('orchestrator', orchestrator),
      for: r.for,
      severity: r.severity,
      component: 'orchestrator',
      summary: `An orchestrator instance is using more than ${percent} of its CPU limit.`,
      description: `Orchestrator {{ $labels.instance }} used {{ $value | humanizePercentage }} of its CPU limit over the last ${window} (threshold ${percent}).`,
      panel: { dashboard: 'overview', panel: 'orchestratorCpuOfLimit' },
    }),
    ctx.alert({
      name: 'OrchestratorHighMemory',
      expr: memory('orchestrator', orchestrator),
      for: r.for,
      severity: r.severity,
      component: 'orchestrator',
      summary: `An orchestrator instance is using more than ${percent} of its memory limit.`,
      description: `Orchestrator {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its memory limit (threshold ${percent}).`,
      panel: { dashboard: 'overview', panel: 'orchestratorMemoryOfLimit' },
    }),
    ctx.alert({
      name: 'AgentHighCPU',
      expr: cpu('agent', agents),
      for: r.for,
      severity: r.severity,
      component: 'agents',
      summary: `An agent instance is using more than ${percent} of its CPU limit.`,
      description: `Agent {{ $labels.instance }} of pool {{ $labels.pool }} (job {{ $labels.job }}) used {{ $value | humanizePercentage }} of its CPU limit over the last ${window} (threshold ${percent}).`,
      panel: { dashboard: 'agents', panel: 'agentCpuOfLimit' },
    }),
    ctx.alert({
      name: 'AgentHighMemory',
      expr: memory('agent', agents),
      for: r.for,
      severity: r.severity,
      component: 'agents',
      summary: `An agent instance is using more than ${percent} of its memory limit.`,
      description: `Agent {{ $labels.instance }} of pool {{ $labels.pool }} (job {{ $labels.job }}) uses {{ $value | humanizePercentage }} of its memory limit (threshold ${percent}).`,
      panel: { dashboard: 'agents', panel: 'agentMemoryOfLimit' },
    }),
  ];
}
