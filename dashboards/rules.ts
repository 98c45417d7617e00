/**
 * The alert rules as the alerts folder generates them (`alerts/generated/phoenix-orch.rules.yaml`): the
 * dashboards take from it the runbook URL of every alert whose `dashboard_url` opens one of their panels,
 * and the tests check that every alert has a panel reading its metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const RULES_FILE = fileURLToPath(
  new URL('../alerts/generated/phoenix-orch.rules.yaml', import.meta.url),
);

export interface Rule {
  /** Set for alerting rules. */
  alert?: string;
  /** Set for recording rules. */
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleGroup {
  name: string;
  rules: Rule[];
}

/** Every rule of the file (plain Prometheus rule file or a PrometheusRule's spec); null when absent. */
export function loadRules(file = RULES_FILE): Rule[] | null {
  if (!existsSync(file)) return null;
  const doc = parse(readFileSync(file, 'utf8')) as { groups?: RuleGroup[]; spec?: { groups?: RuleGroup[] } };
  const groups = doc.groups ?? doc.spec?.groups ?? [];
  return groups.flatMap((g) => g.rules ?? []);
}

export interface RunbookLink {
  alert: string;
  url: string;
}

/** The panel a `dashboard_url` (`<grafana>/d/<uid>?viewPanel=<id>`) opens, if it names one. */
export function panelOfUrl(url: string): { uid: string; panelId: number } | null {
  const m = /\/d\/([^/?#]+)[^?#]*\?(?:[^#]*&)?viewPanel=(?:panel-)?(\d+)/.exec(url);
  return m ? { uid: m[1]!, panelId: Number(m[2]) } : null;
}

/** For one dashboard: panel id -> runbooks of the alerts that link to that panel, sorted by alert name. */
export function runbookLinksByPanel(uid: string, rules = loadRules()): Map<number, RunbookLink[]> {
  const out = new Map<number, RunbookLink[]>();
  for (const rule of rules ?? []) {
    const target = rule.annotations?.['dashboard_url'];
    const runbook = rule.annotations?.['runbook_url'];
    if (!rule.alert || !target || !runbook) continue;
    const panel = panelOfUrl(target);
    if (!panel || panel.uid !== uid) continue;
    const list = out.get(panel.panelId) ?? [];
    if (!list.some((l) => l.alert === rule.alert)) list.push({ alert: rule.alert, url: runbook });
    out.set(panel.panelId, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.alert.localeCompare(b.alert));
  return out;
}
