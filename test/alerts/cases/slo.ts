import type { Case, CaseFile } from '../types.ts';

const JOB = 'job="master-orchestrator", instance="orch-1:8080", route="/v1/tasks", method="POST"';
const requests = (status: string) => `orchestrator_http_requests_total{${JOB}, status="${status}"}`;
const count = `orchestrator_http_request_duration_seconds_count{${JOB}, status="200"}`;
const fast = `orchestrator_http_request_duration_seconds_bucket{${JOB}, status="200", le="2.5"}`;
const probes =
  'orchestrator_http_requests_total{job="master-orchestrator", instance="orch-1:8080", route="/health", method="GET", status="503"}';

/** Requests a minute: `bad` of every 1000 fail (5xx), from `from` minutes on (before: none fail). */
function availability(bad: number, minutes = 100, from = 0): Record<string, string> {
  const before = from > 0 ? `0+1000x${from - 1} ` : '';
  const good = `${before}${from * 1000}+${1000 - bad}x${minutes - from}`;
  const failed = from > 0 ? `0x${from - 1} 0+${bad}x${minutes - from}` : `0+${bad}x${minutes}`;
  return { [requests('200')]: good, [requests('500')]: failed };
}

/** Requests a minute: `slow` of every 1000 take longer than 2.5 s. */
function latency(slow: number, minutes = 100): Record<string, string> {
  return { [count]: `0+1000x${minutes}`, [fast]: `0+${1000 - slow}x${minutes}` };
}

/** What a burn-rate alert says: the long-window ratio, what went wrong, windows and objective. */
const burn = (value: string, bad: string, windows: string, objective: string) => ({
  labels: { job: 'master-orchestrator' },
  description: `${value} of the requests to job master-orchestrator ${bad} over the long window (${windows} the budget rate); the objective is ${objective}.`,
});

export function sloCases(): CaseFile {
  const fastWindows = '1h/5m at 14.4x or 6h/30m at 6x';
  const slowWindows = '1d/2h at 3x or 3d/6h at 1x';
  const a = (value: string, windows: string) => burn(value, 'were answered 5xx', windows, '99.9%');
  const l = (value: string, windows: string) => burn(value, 'took longer than 2.5s', windows, '99%');
  const cases: Case[] = [
    // Availability, fast burn (page): 1h and 5m above 1.44%, or 6h and 30m above 0.6%.
    {
      name: '2% errors: 1h/5m above 14.4x',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: availability(20),
      at: '10m',
      fires: [a('2%', fastWindows)],
    },
    {
      name: '0.8% errors: only 6h/30m above 6x',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: availability(8),
      at: '40m',
      fires: [a('0.8%', fastWindows)],
    },
    {
      name: '0.5% errors, under 6x',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: availability(5),
      at: '40m',
      fires: [],
    },
    {
      name: '2% errors for exactly 2m',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: availability(20),
      at: '3m',
      fires: [a('2%', fastWindows)],
    },
    {
      name: '2% errors for less than 2m',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: availability(20),
      at: '2m', // true from 1m, the first step with two samples: pending for 1m
      fires: [],
    },
    {
      name: 'a 5-minute spike of 5% errors after an hour without: the long windows stay under',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: availability(50, 66, 61),
      at: '66m',
      fires: [],
    },
    {
      name: 'no traffic',
      alert: 'OrchestratorAvailabilityBudgetBurnFast',
      series: { [requests('200')]: '0x100', [requests('500')]: '3x100', [probes]: '0+6x100' },
      at: '40m',
      fires: [],
    },
    // Availability, slow burn (ticket): 1d and 2h above 0.3%, or 3d and 6h above 0.1%.
    {
      name: '0.4% errors for 90m',
      alert: 'OrchestratorAvailabilityBudgetBurnSlow',
      series: availability(4),
      at: '90m',
      fires: [a('0.4%', slowWindows)],
    },
    {
      name: '0.05% errors, under 1x',
      alert: 'OrchestratorAvailabilityBudgetBurnSlow',
      series: availability(0.5),
      at: '90m',
      fires: [],
    },
    {
      name: '0.4% errors for less than 1h',
      alert: 'OrchestratorAvailabilityBudgetBurnSlow',
      series: availability(4),
      at: '55m',
      fires: [],
    },
    {
      name: 'no traffic',
      alert: 'OrchestratorAvailabilityBudgetBurnSlow',
      series: { [requests('200')]: '0x100', [requests('500')]: '3x100' },
      at: '90m',
      fires: [],
    },
    // Latency, fast burn: 1h and 5m above 14.4%, or 6h and 30m above 6%.
    {
      name: '20% slower than 2.5 s',
      alert: 'OrchestratorLatencyBudgetBurnFast',
      series: latency(200),
      at: '10m',
      fires: [l('20%', fastWindows)],
    },
    {
      name: '5% slower than 2.5 s, under 6x',
      alert: 'OrchestratorLatencyBudgetBurnFast',
      series: latency(50),
      at: '40m',
      fires: [],
    },
    {
      name: '20% slow for exactly 2m',
      alert: 'OrchestratorLatencyBudgetBurnFast',
      series: latency(200),
      at: '3m',
      fires: [l('20%', fastWindows)],
    },
    {
      name: '20% slow for less than 2m',
      alert: 'OrchestratorLatencyBudgetBurnFast',
      series: latency(200),
      at: '2m', // true from 1m, the first step with two samples: pending for 1m
      fires: [],
    },
    {
      name: 'no traffic',
      alert: 'OrchestratorLatencyBudgetBurnFast',
      series: { [count]: '5x100', [fast]: '5x100' },
      at: '40m',
      fires: [],
    },
    // Latency, slow burn: 1d and 2h above 3%, or 3d and 6h above 1%.
    {
      name: '4% slower than 2.5 s for 90m',
      alert: 'OrchestratorLatencyBudgetBurnSlow',
      series: latency(40),
      at: '90m',
      fires: [l('4%', slowWindows)],
    },
    {
      name: '0.5% slow, under 1x',
      alert: 'OrchestratorLatencyBudgetBurnSlow',
      series: latency(5),
      at: '90m',
      fires: [],
    },
    {
      name: '4% slow for less than 1h',
      alert: 'OrchestratorLatencyBudgetBurnSlow',
      series: latency(40),
      at: '55m',
      fires: [],
    },
    {
      name: 'no traffic',
      alert: 'OrchestratorLatencyBudgetBurnSlow',
      series: { [count]: '5x100', [fast]: '5x100' },
      at: '90m',
      fires: [],
    },
  ];
  return { name: 'slo', mode: 'normal', interval: '1m', cases };
}
