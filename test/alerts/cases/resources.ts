import type { Case, CaseFile } from '../types.ts';
import { inOtherNamespace, matchers } from './series.ts';

const GiB = 1024 ** 3;

/** CPU and memory of limit, for an orchestrator and an agent instance. */
export function resourceCases(): CaseFile {
  const targets: Array<{
    prefix: string;
    kind: string;
    labels: Record<string, string>;
    who: string;
    cpuLimit: number;
    memLimit: number;
  }> = [
    {
      prefix: 'orchestrator',
      kind: 'Orchestrator',
      labels: { job: 'master-orchestrator', instance: 'orch-1:8080' },
      who: 'Orchestrator orch-1:8080',
      cpuLimit: 2,
      memLimit: 4 * GiB,
    },
    {
      prefix: 'agent',
      kind: 'Agent',
      labels: { job: 'git-agent', instance: 'git-1:8080', pool: 'git' },
      who: 'Agent git-1:8080 of pool git (job git-agent)',
      cpuLimit: 1,
      memLimit: 2 * GiB,
    },
  ];
  const cases: Case[] = [];
  for (const t of targets) {
    const sel = matchers(t.labels);
    const cpu = `${t.prefix}_process_cpu_seconds_total{${sel}}`;
    const cpuLimit = `${t.prefix}_cpu_limit_cores{${sel}}`;
    const mem = `${t.prefix}_process_resident_memory_bytes{${sel}}`;
    const memLimit = `${t.prefix}_memory_limit_bytes{${sel}}`;
    // CPU seconds per minute for a share of the limit.
    const perMinute = (share: number) => share * t.cpuLimit * 60;
    const cpuAlert = `${t.kind}HighCPU`;
    const memAlert = `${t.kind}HighMemory`;
    cases.push(
      {
        // The rate crosses 80% once its 5m window is full of samples (at 5m), and fires 5m later.
        name: '85% of the CPU limit for 7m',
        alert: cpuAlert,
        series: { [cpu]: `0+${perMinute(0.85)}x15`, [cpuLimit]: `${t.cpuLimit}x15` },
        at: '12m',
        fires: [
          {
            labels: t.labels,
            description: `${t.who} used 85% of its CPU limit over the last 5m (threshold 80%).`,
          },
        ],
      },
      {
        // Pod names repeat across namespaces (redis-0, a Deployment's same template hash): the join
        // must stay within one installation.
        name: '85% here, 10% in another namespace on a pod of the same name',
        alert: cpuAlert,
        series: {
          [cpu]: `0+${perMinute(0.85)}x15`,
          [cpuLimit]: `${t.cpuLimit}x15`,
          ...inOtherNamespace({ [cpu]: `0+${perMinute(0.1)}x15`, [cpuLimit]: `${t.cpuLimit}x15` }),
        },
        at: '12m',
        fires: [
          {
            labels: t.labels,
            description: `${t.who} used 85% of its CPU limit over the last 5m (threshold 80%).`,
          },
        ],
      },
      {
        name: '79% of the CPU limit, just under the threshold',
        alert: cpuAlert,
        series: { [cpu]: `0+${perMinute(0.79)}x12`, [cpuLimit]: `${t.cpuLimit}x12` },
        at: '10m',
        fires: [],
      },
      {
        name: '85% of the CPU limit for less than 5m',
        alert: cpuAlert,
        series: { [cpu]: `0+${perMinute(0.85)}x15`, [cpuLimit]: `${t.cpuLimit}x15` },
        at: '8m',
        fires: [],
      },
      {
        name: 'no CPU limit exported',
        alert: cpuAlert,
        series: { [cpu]: `0+${perMinute(0.85)}x12` },
        at: '10m',
        fires: [],
      },
      {
        name: 'CPU limit 0 (unknown)',
        alert: cpuAlert,
        series: { [cpu]: `0+${perMinute(0.85)}x12`, [cpuLimit]: '0x12' },
        at: '10m',
        fires: [],
      },
      {
        name: '87.5% of the memory limit for 6m',
        alert: memAlert,
        series: { [mem]: `${0.875 * t.memLimit}x12`, [memLimit]: `${t.memLimit}x12` },
        at: '6m',
        fires: [
          {
            labels: t.labels,
            description: `${t.who} uses 87.5% of its memory limit (threshold 80%).`,
          },
        ],
      },
      {
        name: '79% of the memory limit, just under the threshold',
        alert: memAlert,
        series: { [mem]: `${0.79 * t.memLimit}x12`, [memLimit]: `${t.memLimit}x12` },
        at: '10m',
        fires: [],
      },
      {
        name: '87.5% of the memory limit for less than 5m',
        alert: memAlert,
        series: { [mem]: `${0.5 * t.memLimit}x5 ${0.875 * t.memLimit}x6`, [memLimit]: `${t.memLimit}x12` },
        at: '9m',
        fires: [],
      },
      {
        name: 'no memory limit exported',
        alert: memAlert,
        series: { [mem]: `${0.875 * t.memLimit}x12` },
        at: '10m',
        fires: [],
      },
      {
        name: 'memory limit 0 (unknown)',
        alert: memAlert,
        series: { [mem]: `${0.875 * t.memLimit}x12`, [memLimit]: '0x12' },
        at: '10m',
        fires: [],
      },
    );
  }
  return { name: 'resources', mode: 'normal', interval: '1m', cases };
}
