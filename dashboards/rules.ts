/**
 * The alerting rules, built from the alerts' configuration (the same rules `alerts/generated/` holds):
 * the dashboards take from them the runbook URL of every alert whose `dashboard_url` opens one of their
 * panels, and the tests check that every alert has a panel reading its metrics.
 */
import { config } from '../alerts/config.ts';
import { isAlert, type AlertingRule } from '../alerts/lib.ts';
import { buildGroups } from '../alerts/rules/index.ts';

/** Every alerting rule, as the production rule file has it. */
export function alertRules(): AlertingRule[] {
  return buildGroups(config, 'normal')
    .flatMap((g) => g.rules)
    .filter(isAlert);
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
export function runbookLinksByPanel(uid: string, rules = alertRules()): Map<number, RunbookLink[]> {
  const out = new Map<number, RunbookLink[]>();
  for (const rule of rules) {
    const panel = panelOfUrl(rule.annotations.dashboard_url);
    if (!panel || panel.uid !== uid) continue;
    const list = out.get(panel.panelId) ?? [];
    if (!list.some((l) => l.alert === rule.alert))
      list.push({ alert: rule.alert, url: rule.annotations.runbook_url });
    out.set(panel.panelId, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.alert.localeCompare(b.alert));
  return out;
}
