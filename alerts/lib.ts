import { panelUrl } from '../platform/dashboards.ts';
import type { AlertsConfig, Severity } from './config.ts';
import { formatDuration, parseDuration } from './duration.ts';

/** `normal` is the production rule file; `drill` scales every window and `for` down for the local stack. */
export type Mode = 'normal' | 'drill';

export type AlertingRule = {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string; dashboard_url: string };
};
export type RecordingRule = { record: string; expr: string; labels?: Record<string, string> };
export type Rule = AlertingRule | RecordingRule;
export type RuleGroup = { name: string; rules: Rule[] };

export type PanelRef = Parameters<typeof panelUrl>[0];

export const isAlert = (rule: Rule): rule is AlertingRule => 'alert' in rule;

/** What a rule module builds from: the config, and durations as they apply in this mode. */
export type Context = {
  config: AlertsConfig;
  mode: Mode;
  /** A range window (`[5m]`) in this mode. */
  range(d: string): string;
  /** A `for` in this mode. */
  for(d: string): string;
  /** A threshold that is a duration, in seconds, in this mode (scaled and floored like a range). */
  seconds(d: string): number;
  /** `job="<name>"`. */
  job(name: string): string;
  /** `by (cluster, namespace, <labels>)`: an aggregation that keeps the installation's labels. */
  by(...labels: string[]): string;
  /** `on (cluster, namespace, <labels>)`: a join within one installation. */
  on(...labels: string[]): string;
  /** `absent(<metric>{job="<job>", namespace="<config namespace>"})`: no series of the job in the namespace. */
  absent(metric: string, job: string): string;
  alert(spec: AlertSpec): AlertingRule;
};

export type AlertSpec = {
  name: string;
  expr: string;
  /** Omitted: the alert fires on the first evaluation that matches (also in drill mode). */
  for?: string;
  severity: Severity;
  component: string;
  /** A static sentence. */
  summary: string;
  /** Templated: the labels that locate the problem and the value. */
  description: string;
  panel: PanelRef;
};

/** The labels that tell one installation of the bundle from another. */
export const installationLabels = (config: AlertsConfig) => [config.clusterLabel, 'namespace'];

export function createContext(config: AlertsConfig, mode: Mode): Context {
  const installation = installationLabels(config);
  const scale = (d: string, floor: string): number => {
    const seconds = parseDuration(d);
    if (mode === 'normal') return seconds;
    return Math.max(parseDuration(floor), Math.round(seconds / config.drill.factor));
  };
  return {
    config,
    mode,
    range: (d) => formatDuration(scale(d, config.drill.minRange)),
    for: (d) => formatDuration(scale(d, config.drill.minFor)),
    seconds: (d) => scale(d, config.drill.minRange),
    job: (name) => `job="${name}"`,
    by: (...labels) => `by (${[...installation, ...labels].join(', ')})`,
    on: (...labels) => `on (${[...installation, ...labels].join(', ')})`,
    absent: (metric, job) => `absent(${metric}{job="${job}", namespace="${config.namespace}"})`,
    alert: (spec) => ({
      alert: spec.name,
      expr: tidy(spec.expr),
      ...(spec.for ? { for: formatDuration(scale(spec.for, config.drill.minFor)) } : {}),
      labels: { severity: spec.severity, component: spec.component },
      annotations: {
        summary: spec.summary,
        description: spec.description,
        runbook_url: `${config.runbookBaseUrl}/runbooks/${spec.name}.md`,
        dashboard_url: panelUrl(spec.panel),
      },
    }),
  };
}

/** Expressions are written as indented template literals; drop the common indent and blank ends. */
export function tidy(expr: string): string {
  const lines = expr
    .replace(/^\s*\n/, '')
    .trimEnd()
    .split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent).trimEnd()).join('\n');
}

/** A number as PromQL writes it, without binary floating-point noise (14.4 * 0.001 is 0.0144). */
export function num(value: number): string {
  return String(Number(value.toPrecision(12)));
}
