/**
 * Every PromQL query of the generated dashboards, with Grafana's variables replaced so that Prometheus
 * (or promtool) takes them as they are: for the PromQL validity test and for the live check against the
 * running stack, which runs each query and expects data, except from the panels listed in
 * FAULT_ONLY_PANELS.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { POOL_PANELS, POOLS } from './agents.ts';
import { dashboards } from '../platform/dashboards.ts';
import { OUTPUT_DIR } from './generate.ts';

export interface PanelQuery {
  /** Dashboard uid (the generated file is `<uid>.json`). */
  dashboard: string;
  panelId: number;
  /** Panel title. */
  title: string;
  refId: string;
  /** The expression with every variable replaced. */
  expr: string;
  /** The expression as the dashboard holds it. */
  raw: string;
}

export interface Substitutions {
  /** `$__rate_interval` (and `$__interval`); 1m fits any scrape interval up to 15 s. */
  rateInterval: string;
  /** `$__range`: the dashboard's time range. */
  range: string;
  /** Every template variable (`$instance`, `$pool`, ...): `.*` stands for "All". */
  variable: string;
}

export const DEFAULT_SUBSTITUTIONS: Substitutions = { rateInterval: '1m', range: '1h', variable: '.*' };

/** Replaces Grafana's built-in and template variables in one expression; throws on one left over. */
export function substitute(expr: string, templateVariables: string[], s = DEFAULT_SUBSTITUTIONS): string {
  const builtIns: Record<string, string> = {
    __rate_interval: s.rateInterval,
    __interval: s.rateInterval,
    __range: s.range,
  };
  const out = expr.replace(
    /\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]/g,
    (match, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      if (name in builtIns) return builtIns[name]!;
      if (templateVariables.includes(name)) return s.variable;
      throw new Error(`unknown variable ${match} in ${expr}`);
    },
  );
  return out;
}

type AnyPanel = Panel | RowPanel;

/** Panels in dashboard order, those inside collapsed rows included. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  const visit = (panels: AnyPanel[] | undefined) => {
    for (const p of panels ?? []) {
      if (p.type === 'row') visit((p as RowPanel).panels as AnyPanel[]);
      else out.push(p as Panel);
    }
  };
  visit(dashboard.panels as AnyPanel[]);
  return out;
}

/** The generated dashboards, read from `kustomize/generated/dashboards/`. */
export function generatedDashboards(dir = OUTPUT_DIR): Dashboard[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Dashboard);
}

/** Every query of the given dashboards with variables substituted. */
export function queriesOf(boards: Dashboard[], s = DEFAULT_SUBSTITUTIONS): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const board of boards) {
    const variables = (board.templating?.list ?? []).map((v) => v.name);
    for (const panel of panelsOf(board)) {
      for (const target of (panel.targets ?? []) as { refId?: string; expr?: string }[]) {
        if (target.expr === undefined) continue;
        out.push({
          dashboard: board.uid ?? '',
          panelId: panel.id ?? -1,
          title: panel.title ?? '',
          refId: target.refId ?? '',
          expr: substitute(target.expr, variables, s),
          raw: target.expr,
        });
      }
    }
  }
  return out;
}

/** Every query of every generated dashboard, ready for a live Prometheus. */
export function allPanelQueries(s = DEFAULT_SUBSTITUTIONS, dir = OUTPUT_DIR): PanelQuery[] {
  return queriesOf(generatedDashboards(dir), s);
}

export interface FaultOnlyPanel {
  /** Dashboard uid. */
  dashboard: string;
  /** Panel title (stable where ordinary panel ids are not). */
  title: string;
  /** Only these queries of the panel; all of them when absent. */
  refIds?: string[];
  reason: string;
}

const d = (key: keyof typeof dashboards) => dashboards[key].uid;

/**
 * Panels (or single queries) that by design return no series on a healthy stack: they count failures
 * that only happen during a fault, or read what only an Artillery run pushes. Every other query must
 * return data once the stack has served some traffic (a sync task per pool, a repeated task, an async
 * task, a session operation).
 */
export const FAULT_ONLY_PANELS: FaultOnlyPanel[] = [
  {
    dashboard: d('overview'),
    title: 'Agent call errors (share of calls)',
    reason: 'counts agent calls ending in error, timeout or short_circuit: only when a pool fails',
  },
  {
    dashboard: d('overview'),
    title: 'Firing alerts',
    reason: 'ALERTS{alertstate="firing"} is empty while no alert fires',
  },
  {
    dashboard: d('orchestrator'),
    title: 'Breaker transitions',
    reason: 'breakers change state only when a pool fails (or recovers from failing)',
  },
  {
    dashboard: d('orchestrator'),
    title: 'Redis errors per operation',
    refIds: ['A'],
    reason: 'orchestrator_redis_errors_total{operation} appears with the first failed Redis command',
  },
  {
    dashboard: d('orchestrator'),
    title: 'Stale answers per pool and reason',
    reason: 'an answer is served stale only when its pool fails (unreachable, timed out, breaker open)',
  },
  {
    dashboard: d('orchestrator'),
    title: 'Single-flight waits and skipped stores',
    reason:
      'waits need concurrent identical requests on a cold key, skipped stores a state change during the computation',
  },
  ...POOLS.flatMap(({ label }) => [
    {
      dashboard: d('agents'),
      title: `${label}: ${POOL_PANELS.errors}`,
      reason: 'actions end in error only during an agent fault',
    },
    {
      dashboard: d('agents'),
      title: `${label}: ${POOL_PANELS.outcomes}`,
      reason: 'non-success outcomes only: invalid input, client errors or errors',
    },
  ]),
  {
    dashboard: d('agents'),
    title: 'Retries per provider and reason',
    reason: 'the LLM router retries only after a provider failure',
  },
  {
    dashboard: d('agents'),
    title: 'Fallbacks between providers',
    reason: 'the LLM router falls back only after a provider failure',
  },
  {
    dashboard: d('agents'),
    title: 'git processes running and truncated outputs',
    refIds: ['B'],
    reason: 'outputs are truncated only when a git answer exceeds GIT_MAX_OUTPUT_BYTES',
  },
  {
    dashboard: d('loadTests'),
    title: 'Requests sent in the range',
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Client p95 response time (last period)',
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Requests and responses per second',
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Response codes',
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Response time to first byte (per reporting period)',
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Virtual users',
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Errors by code',
    reason: 'Artillery counts transport errors (ETIMEDOUT, ECONNRESET) only when they happen during a run',
  },
  {
    dashboard: d('loadTests'),
    title: 'Request rate: clients, load balancer, orchestrators',
    refIds: ['A'],
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
  {
    dashboard: d('loadTests'),
    title: 'Latency p95: clients against orchestrators',
    refIds: ['A'],
    reason: 'Artillery metrics exist only after an Artillery run pushed them to the Pushgateway',
  },
];

/** Why a query may return no data on a healthy stack, or undefined when it must return data. */
export function faultOnlyReason(query: PanelQuery): string | undefined {
  const entry = FAULT_ONLY_PANELS.find(
    (f) =>
      f.dashboard === query.dashboard &&
      f.title === query.title &&
      (f.refIds === undefined || f.refIds.includes(query.refId)),
  );
  return entry?.reason;
}
