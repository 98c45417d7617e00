import path from 'node:path';
import type { AlertsConfig } from '../../alerts/config.ts';
import { isAlert, type AlertingRule, type Mode } from '../../alerts/lib.ts';
import { buildGroups } from '../../alerts/rules/index.ts';
import { toYaml } from '../../alerts/yaml.ts';
import { FILES } from '../../platform/files.ts';
import { agentCases } from './cases/agents.ts';
import { drillCases } from './cases/drill.ts';
import { eventLoopCases } from './cases/event-loop.ts';
import { loadBalancerCases } from './cases/load-balancer.ts';
import { orchestratorCases } from './cases/orchestrator.ts';
import { redisCases } from './cases/redis.ts';
import { resourceCases } from './cases/resources.ts';
import { sloCases } from './cases/slo.ts';
import { targetCases } from './cases/targets.ts';
import type { CaseFile } from './types.ts';

export const TESTS_DIR = FILES.alertTests;

/**
 * The labels the Prometheus Operator (namespace) and a multi-cluster ruler (cluster) give every series
 * of one installation. Every input series carries them, and every firing alert must too: an alert or
 * recording rule that drops them fails its case.
 */
export const INSTALLATION = { cluster: 'eu-1', namespace: 'phoenix-orch' } as const;

/** A series selector with the installation's labels it does not name already. */
export function withInstallation(series: string): string {
  const open = series.indexOf('{');
  const [name, body] = open < 0 ? [series, ''] : [series.slice(0, open), series.slice(open + 1, -1)];
  const named = new Set([...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=/g)].map((m) => m[1]));
  const extra = Object.entries(INSTALLATION)
    .filter(([label]) => !named.has(label))
    .map(([label, value]) => `${label}="${value}"`);
  return `${name}{${[body, ...extra].filter(Boolean).join(', ')}}`;
}

/** What a firing alert's labels must be: the rule's, the installation's, the case's (null: absent). */
function expectedLabels(rule: Record<string, string>, own: Record<string, string | null>) {
  const labels: Record<string, string | null> = { ...rule, ...INSTALLATION, ...own };
  return Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => e[1] !== null));
}

/** The rule files as promtool finds them from a test file. */
const RULE_FILES: Record<Mode, string> = {
  normal: path.relative(TESTS_DIR, FILES.rules),
  drill: path.relative(TESTS_DIR, FILES.drillRules),
};

export function caseFiles(config: AlertsConfig): CaseFile[] {
  return [
    targetCases(config),
    resourceCases(),
    eventLoopCases(),
    orchestratorCases(),
    agentCases(),
    redisCases(),
    loadBalancerCases(),
    sloCases(),
    drillCases(),
  ];
}

/**
 * promtool unit-test files from the cases: each case is one test group (its own input series) with one
 * alert_rule_test. Expected labels and descriptions are written in the cases; severity, component and
 * the static annotations (summary, runbook_url, dashboard_url) are the rule's own.
 */
export async function renderTestFiles(config: AlertsConfig): Promise<Map<string, string>> {
  const alerts: Record<Mode, Map<string, AlertingRule>> = { normal: new Map(), drill: new Map() };
  const groupOrder: Record<Mode, string[]> = { normal: [], drill: [] };
  for (const mode of ['normal', 'drill'] as const) {
    for (const group of buildGroups(config, mode)) {
      groupOrder[mode].push(group.name);
      for (const rule of group.rules) if (isAlert(rule)) alerts[mode].set(rule.alert, rule);
    }
  }
  const files = new Map<string, string>();
  for (const file of caseFiles(config)) {
    const tests = file.cases.map((c) => {
      const rule = alerts[file.mode].get(c.alert);
      if (!rule) throw new Error(`${file.name}: case "${c.name}" names unknown alert ${c.alert}`);
      return {
        name: `${c.alert}: ${c.name}`,
        interval: c.interval ?? file.interval,
        input_series: Object.entries(c.series).map(([series, values]) => ({
          series: withInstallation(series),
          values,
        })),
        alert_rule_test: [
          {
            eval_time: c.at,
            alertname: c.alert,
            exp_alerts: c.fires.map((f) => ({
              exp_labels: expectedLabels(rule.labels, f.labels),
              exp_annotations: { ...rule.annotations, description: f.description },
            })),
          },
        ],
      };
    });
    const path = `${TESTS_DIR}/${file.name}.test.yaml`;
    // Without an order promtool evaluates the groups in a random order each run, so an alert may see
    // this step's recording rules or the previous step's: the boundary cases would be flaky.
    const body = {
      rule_files: [RULE_FILES[file.mode]],
      evaluation_interval: file.interval,
      group_eval_order: groupOrder[file.mode],
      tests,
    };
    files.set(
      path,
      await toYaml(body, [`# Generated from test/alerts/cases/ by \`npm run alerts:generate\`.`], path),
    );
  }
  return files;
}
