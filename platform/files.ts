/**
 * Where the generated files and the shared sources live, from the repository root. Generators write
 * them; the local stack, Kustomize and the tests read them; `*:check` scripts and tests keep them fresh.
 */
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '..');

export const FILES = {
  /** The Prometheus rule file (the local stack's Prometheus loads it). */
  rules: 'alerts/generated/phoenix-orch.rules.yaml',
  /** The same rules with every window and `for` scaled down for drills. */
  drillRules: 'alerts/generated/phoenix-orch.drill.rules.yaml',
  prometheusRule: 'kustomize/generated/rules/prometheusrule.yaml',
  configMapRules: 'kustomize/generated/rules/phoenix-orch.rules.yaml',
  /** promtool unit-test files generated from the alert test cases. */
  alertTests: 'test/alerts/generated',
  /** One JSON file per dashboard, `<uid>.json`. */
  dashboards: 'kustomize/generated/dashboards',
  /** HAProxy, Redis and Sentinel configuration rendered for Kubernetes. */
  kubernetesConfig: 'kustomize/generated/config',
  /** Settings every service shares: the ConfigMap's source and the local stack's environment. */
  sharedEnv: 'kustomize/base/config/phoenix.env',
} as const;

/** An absolute path of one of FILES. */
export const fromRoot = (file: string) => path.join(ROOT, file);
