import type { Case, CaseFile } from '../types.ts';
import { matchers } from './series.ts';

/** A saturated event loop (busy share over 5m > 90% for 5m), for an orchestrator and an agent instance. */
export function eventLoopCases(): CaseFile {
  const targets: Array<{ prefix: string; alert: string; labels: Record<string, string>; who: string }> = [
    {
      prefix: 'orchestrator',
      alert: 'OrchestratorEventLoopSaturated',
      labels: { job: 'master-orchestrator', instance: 'orch-1:8080' },
      who: 'orchestrator orch-1:8080',
    },
    {
      prefix: 'agent',
      alert: 'AgentEventLoopSaturated',
      labels: { job: 'llm-router', instance: 'llm-1:9000', pool: 'llm' },
      who: 'agent llm-1:9000 of pool llm (job llm-router)',
    },
  ];
  const cases: Case[] = [];
  for (const t of targets) {
    const selector = matchers(t.labels);
    const active = `${t.prefix}_event_loop_active_seconds_total{${selector}}`;
    // Busy seconds per minute for a share of the time.
    const busy = (share: number) => `0+${share * 60}x15`;
    cases.push(
      {
        // The rate is over 90% once its 5m window is full (at 5m), and fires 5m later; a 2-core CPU
        // limit is at 47% meanwhile: the CPU alert says nothing.
        name: '95% busy for 7m',
        alert: t.alert,
        series: { [active]: busy(0.95) },
        at: '12m',
        fires: [
          {
            labels: t.labels,
            description: `The event loop of ${t.who} was busy 95% of the time over the last 5m (threshold 90%): requests wait for it whatever the CPU limit.`,
          },
        ],
      },
      {
        name: '85% busy, under the threshold',
        alert: t.alert,
        series: { [active]: busy(0.85) },
        at: '12m',
        fires: [],
      },
      {
        name: '95% busy for less than 5m',
        alert: t.alert,
        series: { [active]: busy(0.95) },
        at: '8m',
        fires: [],
      },
      {
        name: 'a restart resets the counter: no false spike',
        alert: t.alert,
        series: { [active]: '0+30x6 0+30x8' },
        at: '12m',
        fires: [],
      },
      {
        name: 'no series (an older build without the metric)',
        alert: t.alert,
        series: { [`up{${selector}}`]: '1x15' },
        at: '12m',
        fires: [],
      },
    );
  }
  return { name: 'event-loop', mode: 'normal', interval: '1m', cases };
}
