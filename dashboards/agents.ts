/**
 * Agents: the pools side by side (health, CPU and memory of limit), then one row per pool (instances
 * healthy, task rate, latency and errors per action, CPU/memory of limit) with the pool's own metrics,
 * and the LLM router's providers (requests, latency, retries, fallbacks, breaker state, tokens).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  AGENT_JOBS,
  JOBS,
  THRESHOLDS,
  above,
  alertPanels,
  breakerStateQuery,
  finish,
  labelVariable,
  newDashboard,
  panelIds,
  q,
  quantile,
  rate,
  row,
  scope,
  section,
  stateTimelinePanel,
  statPanel,
  timeseriesPanel,
  below,
  type Ids,
  type PanelBuilder,
  type Section,
  versionsPanel,
} from './common.ts';
import type { AgentPool, PoolFacts } from '../platform/pools.ts';
import { POOL_LIST, POOLS as POOLS_BY_NAME } from '../platform/pools.ts';
import { BREAKER_STATES } from './orchestrator.ts';

const ids = alertPanels.agents;

/** The agent pools, by their `pool` label. */
export const POOLS = POOL_LIST;

/** Titles of the panels every pool row has, after the pool's label (`Git: Task rate per action`). */
export const POOL_PANELS = {
  instances: 'Instances healthy',
  taskRate: 'Task rate per action',
  latency: 'Latency p95 per action',
  errors: 'Errors per action (share of actions)',
  outcomes: 'Outcomes per action',
  resources: 'CPU and memory of limit per instance',
} as const;

/** The panels of a pool's own work, after its common panels. */
const OWN_PANELS: Record<AgentPool, (id: Ids) => PanelBuilder[]> = {
  git: (id) => [gitCommands(id), gitCommandLatency(id), gitProcesses(id)],
  llm: (id) => [
    providerRequests(id),
    providerLatency(id),
    providerBreakerState(id),
    providerRetries(id),
    providerFallbacks(id),
    providerTokens(id),
    chatOutcomes(id),
  ],
  obsidian: (id) => [vaultNotes(id), vaultWrites(id), vaultScanDuration(id)],
};

export function agentsDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'agents',
    'Agent pools: health, resources and actions per pool; the git and Obsidian agents\u2019 own work; the LLM router\u2019s providers.',
  ).withVariable(labelVariable('pool', 'Agent pool', `agent_ready{${scope(...AGENT_JOBS)}}`));
  return finish('agents', board, [allPools(id), ...POOLS.map((p) => poolSection(id, p))]);
}

/** The orchestrators' shared view of the pools, the chosen pools' agents, and each pool's own job. */
const orch = scope(JOBS.orchestrator);
const chosen = `${scope(...AGENT_JOBS)}, pool=~"$pool"`;
const git = scope(POOLS_BY_NAME.git.job);
const llm = scope(POOLS_BY_NAME.llm.job);
const obsidian = scope(POOLS_BY_NAME.obsidian.job);

const cpuOfLimit = (filter: string) =>
  `${rate(`agent_process_cpu_seconds_total{${filter}}`)}\n  / (agent_cpu_limit_cores{${filter}} > 0)`;
const memoryOfLimit = (filter: string) =>
  `agent_process_resident_memory_bytes{${filter}}\n  / (agent_memory_limit_bytes{${filter}} > 0)`;

// ---------------------------------------------------------------------------------------------------
// All pools

function allPools(id: Ids): Section {
  return section(
    row(id(), 'All pools'),
    healthyInstances(),
    agentCpuOfLimit(),
    agentMemoryOfLimit(),
    agentEventLoop(),
    versionsPanel({ id: id(), prefix: 'agent_', selector: chosen, by: ['pool', 'instance'], width: 12 }),
  );
}

function healthyInstances() {
  return timeseriesPanel({
    id: ids.poolHealthyInstances,
    title: 'Healthy instances per pool',
    description: 'Instances reporting ok in their heartbeat (the shared view every orchestrator exports).',
    unit: 'short',
    width: 8,
    min: 0,
    decimals: 0,
    queries: [
      q(
        `max by (pool) (orchestrator_agent_pool_healthy_instances{${orch}, pool=~"$pool"})`,
        '{{pool}} healthy',
      ),
      q(`max by (pool) (orchestrator_agent_pool_instances{${orch}, pool=~"$pool"})`, '{{pool}} instances'),
      q(`min by (pool) (orchestrator_agent_pool_up{${orch}, pool=~"$pool"})`, '{{pool}} up'),
    ],
    thresholds: below(1),
    thresholdLines: false,
  });
}

function agentCpuOfLimit() {
  return timeseriesPanel({
    id: ids.agentCpuOfLimit,
    title: 'Agent CPU of limit',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [q(cpuOfLimit(chosen), '{{pool}} {{instance}}')],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

function agentMemoryOfLimit() {
  return timeseriesPanel({
    id: ids.agentMemoryOfLimit,
    title: 'Agent memory of limit',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [q(memoryOfLimit(chosen), '{{pool}} {{instance}}')],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

function agentEventLoop() {
  return timeseriesPanel({
    id: ids.agentEventLoop,
    title: 'Agent event loop: utilisation and lag',
    description:
      'Share of the time each agent\u2019s event loop was busy (it saturates near one core, before the CPU limit); the line is the alert threshold. Right axis: p99 of how late the loop ran what was due.',
    unit: 'percentunit',
    width: 12,
    min: 0,
    queries: [
      q(rate(`agent_event_loop_active_seconds_total{${chosen}}`), '{{pool}} {{instance}} busy'),
      q(`agent_nodejs_eventloop_lag_p99_seconds{${chosen}}`, '{{pool}} {{instance}} lag p99', 's'),
    ],
    thresholds: above(THRESHOLDS.eventLoopUtilisation),
  });
}

// ---------------------------------------------------------------------------------------------------
// One row per pool

function poolSection(id: Ids, facts: PoolFacts): Section {
  /** The pool's own series, and the orchestrators' view of it. */
  const p = `${scope(facts.job)}, pool="${facts.pool}"`;
  const seen = `${orch}, pool="${facts.pool}"`;
  const t = (name: keyof typeof POOL_PANELS) => `${facts.label}: ${POOL_PANELS[name]}`;
  return section(
    row(id(), facts.title),
    poolInstances(id, p, seen, t('instances')),
    taskRate(id, p, t('taskRate')),
    actionLatency(id, p, t('latency')),
    actionErrors(id, p, t('errors')),
    actionOutcomes(id, p, t('outcomes')),
    instanceResources(id, p, t('resources')),
    ...OWN_PANELS[facts.pool](id),
  );
}

function poolInstances(id: Ids, p: string, seen: string, title: string) {
  return statPanel({
    id: id(),
    title,
    description:
      'Healthy instances against instances with a live heartbeat, as the orchestrators see the pool.',
    unit: 'short',
    width: 4,
    height: 8,
    queries: [
      q(`max(orchestrator_agent_pool_healthy_instances{${seen}})`, 'healthy'),
      q(`max(orchestrator_agent_pool_instances{${seen}})`, 'instances'),
      q(`sum(agent_ready{${p}})`, 'ready (scraped)'),
    ],
    thresholds: below(1),
  });
}

function taskRate(id: Ids, p: string, title: string) {
  return timeseriesPanel({
    id: id(),
    title,
    unit: 'reqps',
    width: 10,
    queries: [q(`sum by (action) (${rate(`agent_actions_total{${p}}`)})`, '{{action}}')],
  });
}

function actionLatency(id: Ids, p: string, title: string) {
  return timeseriesPanel({
    id: id(),
    title,
    unit: 's',
    width: 10,
    queries: [q(quantile(0.95, 'agent_action_duration_seconds', p, ['action']), '{{action}}')],
  });
}

function actionErrors(id: Ids, p: string, title: string) {
  return timeseriesPanel({
    id: id(),
    title,
    description:
      'Actions ending in error (not the caller\u2019s invalid input or client errors), per action.',
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [
      q(
        `sum by (action) (${rate(`agent_actions_total{${p}, outcome="error"}`)})\n  / sum by (action) (${rate(`agent_actions_total{${p}}`)})`,
        '{{action}}',
      ),
    ],
    thresholds: above(THRESHOLDS.errorRatio),
  });
}

function actionOutcomes(id: Ids, p: string, title: string) {
  return timeseriesPanel({
    id: id(),
    title,
    unit: 'reqps',
    width: 8,
    queries: [
      q(
        `sum by (action, outcome) (${rate(`agent_actions_total{${p}, outcome!="success"}`)})`,
        '{{action}} {{outcome}}',
      ),
    ],
  });
}

function instanceResources(id: Ids, p: string, title: string) {
  return timeseriesPanel({
    id: id(),
    title,
    unit: 'percentunit',
    width: 8,
    min: 0,
    queries: [q(cpuOfLimit(p), '{{instance}} CPU'), q(memoryOfLimit(p), '{{instance}} memory')],
    thresholds: above(THRESHOLDS.resourceOfLimit),
  });
}

// ---------------------------------------------------------------------------------------------------
// The git agent's own work

function gitCommands(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'git commands per subcommand and outcome',
    unit: 'ops',
    width: 8,
    queries: [
      q(`sum by (command, outcome) (${rate(`agent_git_commands_total{${git}}`)})`, '{{command}} {{outcome}}'),
    ],
  });
}

function gitCommandLatency(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'git command latency p95',
    unit: 's',
    width: 8,
    queries: [q(quantile(0.95, 'agent_git_command_duration_seconds', git, ['command']), '{{command}}')],
  });
}

function gitProcesses(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'git processes running and truncated outputs',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [
      q(`sum by (instance) (agent_git_commands_in_flight{${git}})`, '{{instance}} running'),
      q(
        `sum by (command) (increase(agent_git_output_truncations_total{${git}}[$__rate_interval]))`,
        'truncated {{command}}',
      ),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// The Obsidian agent's own work

function vaultNotes(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Vault notes and index rebuilds',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [
      q(`max by (instance) (agent_obsidian_notes{${obsidian}})`, '{{instance}} notes'),
      q(
        `sum by (kind) (increase(agent_obsidian_index_rebuilds_total{${obsidian}}[$__rate_interval]))`,
        'rebuilds {{kind}}',
      ),
    ],
  });
}

function vaultWrites(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Writes, conflicts and refused path escapes',
    unit: 'ops',
    width: 8,
    queries: [
      q(`sum by (action) (${rate(`agent_obsidian_writes_total{${obsidian}}`)})`, '{{action}}'),
      q(`sum(${rate(`agent_obsidian_write_conflicts_total{${obsidian}}`)})`, 'conflicts (409)'),
      q(`sum(${rate(`agent_obsidian_path_escapes_total{${obsidian}}`)})`, 'path escapes refused'),
    ],
  });
}

function vaultScanDuration(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Vault scan duration p95',
    unit: 's',
    width: 8,
    queries: [
      q(quantile(0.95, 'agent_obsidian_vault_scan_duration_seconds', obsidian, ['instance']), '{{instance}}'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// The LLM router's providers

function providerRequests(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Provider requests per outcome',
    unit: 'reqps',
    width: 8,
    queries: [
      q(
        `sum by (provider, outcome) (${rate(`agent_llm_provider_requests_total{${llm}}`)})`,
        '{{provider}} {{outcome}}',
      ),
    ],
  });
}

function providerLatency(id: Ids) {
  const success = `${llm}, outcome="success"`;
  return timeseriesPanel({
    id: id(),
    title: 'Provider latency p50 / p95',
    unit: 's',
    width: 8,
    queries: [
      q(
        quantile(0.5, 'agent_llm_provider_request_duration_seconds', success, ['provider']),
        '{{provider}} p50',
      ),
      q(
        quantile(0.95, 'agent_llm_provider_request_duration_seconds', success, ['provider']),
        '{{provider}} p95',
      ),
    ],
  });
}

function providerBreakerState(id: Ids) {
  return stateTimelinePanel({
    id: id(),
    title: 'Provider breaker state',
    unit: 'none',
    width: 8,
    height: 8,
    queries: [q(breakerStateQuery('agent_llm_provider_breaker_state', 'provider', llm), '{{provider}}')],
    mappings: BREAKER_STATES,
    thresholds: above(1, 2),
  });
}

function providerRetries(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Retries per provider and reason',
    unit: 'ops',
    width: 8,
    queries: [
      q(`sum by (provider, reason) (${rate(`agent_llm_retries_total{${llm}}`)})`, '{{provider}} {{reason}}'),
    ],
  });
}

function providerFallbacks(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Fallbacks between providers',
    unit: 'ops',
    width: 8,
    queries: [q(`sum by (from, to) (${rate(`agent_llm_fallbacks_total{${llm}}`)})`, '{{from}} -> {{to}}')],
  });
}

function providerTokens(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Tokens per provider',
    unit: 'suffix: tokens/s',
    width: 8,
    queries: [
      q(`sum by (provider) (${rate(`agent_llm_prompt_tokens_total{${llm}}`)})`, '{{provider}} prompt'),
      q(
        `sum by (provider) (${rate(`agent_llm_completion_tokens_total{${llm}}`)})`,
        '{{provider}} completion',
      ),
    ],
  });
}

function chatOutcomes(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Chat requests by final outcome',
    unit: 'reqps',
    width: 24,
    queries: [
      q(
        `sum by (model, outcome) (${rate(`agent_llm_chat_requests_total{${llm}}`)})`,
        '{{model}} {{outcome}}',
      ),
    ],
  });
}
