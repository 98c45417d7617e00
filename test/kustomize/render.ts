/**
 * Renders the Kustomize overlays with the real `kubectl kustomize` and gives the tests typed access to
 * the objects. kubectl is required: without it the tests fail with a message saying so, never skip.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Every build the tests render: the two overlays, and fixtures that add the optional components. */
export const BUILDS = {
  dev: 'kustomize/overlays/dev',
  production: 'kustomize/overlays/production',
  /** dev + ingress-nginx + monitoring-standalone + pushgateway */
  'dev-all-components': 'test/kustomize/fixtures/dev-all-components',
  /** production + ingress-nginx */
  'production-ingress': 'test/kustomize/fixtures/production-ingress',
} as const;

export type BuildName = keyof typeof BUILDS;

/** A value read from rendered YAML; tests narrow what they read. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** Any rendered Kubernetes object. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Loose };
  [k: string]: Loose;
};

export class KubectlMissingError extends Error {}

/** `kubectl kustomize <dir>` as parsed objects. Throws a clear error when kubectl cannot be run. */
export function kustomize(dir: string, kubectl = 'kubectl'): K8sObject[] {
  const result = spawnSync(kubectl, ['kustomize', path.resolve(ROOT, dir)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    throw new KubectlMissingError(
      code === 'ENOENT'
        ? `kubectl was not found on PATH ("${kubectl}"). The Kustomize tests render every overlay with ` +
            '`kubectl kustomize` (kubectl 1.30 or newer, which embeds kustomize v5); install kubectl and run them again.'
        : `could not run ${kubectl}: ${result.error.message}`,
    );
  }
  if (result.status !== 0) {
    throw new Error(`kubectl kustomize ${dir} failed (exit ${result.status}):\n${result.stderr}`);
  }
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0)
      throw new Error(`kubectl kustomize ${dir}: bad YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

const cache = new Map<BuildName, K8sObject[]>();

/** A build's objects, rendered once per test file. */
export function build(name: BuildName): K8sObject[] {
  let objects = cache.get(name);
  if (!objects) {
    objects = kustomize(BUILDS[name]);
    cache.set(name, objects);
  }
  return objects;
}

export const BUILD_NAMES = Object.keys(BUILDS) as BuildName[];

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the build`);
  return found;
}

export function ofKind(objects: K8sObject[], ...kinds: string[]): K8sObject[] {
  return objects.filter((o) => kinds.includes(o.kind));
}

/** A generated ConfigMap or Secret by the name it was given before kustomize appended its hash. */
export function generated(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): K8sObject {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PodSpec = { containers: any[]; initContainers?: any[]; volumes?: any[]; [k: string]: any };

export interface Workload {
  object: K8sObject;
  kind: string;
  name: string;
  /** Pod template labels. */
  labels: Record<string, string>;
  pod: PodSpec;
  /** spec.replicas (1 when unset); Jobs count as 1. */
  replicas: number;
  /** Runs until stopped (Deployment, StatefulSet), as opposed to a Job's pod. */
  longRunning: boolean;
}

/** Every pod-creating object with its pod template. */
export function workloads(objects: K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    let template;
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(o.kind)) template = o.spec.template;
    else if (o.kind === 'Job') template = o.spec.template;
    else if (o.kind === 'CronJob') template = o.spec.jobTemplate.spec.template;
    else continue;
    out.push({
      object: o,
      kind: o.kind,
      name: o.metadata.name,
      labels: template.metadata?.labels ?? {},
      pod: template.spec,
      replicas: o.kind === 'Job' || o.kind === 'CronJob' ? 1 : (o.spec.replicas ?? 1),
      longRunning: !['Job', 'CronJob'].includes(o.kind),
    });
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function allContainers(pod: PodSpec): any[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** Whether a label selector ({matchLabels, matchExpressions}) selects these labels. */
export function selects(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const v = labels[e.key];
    if (e.operator === 'In' && (v === undefined || !e.values?.includes(v))) return false;
    if (e.operator === 'NotIn' && v !== undefined && e.values?.includes(v)) return false;
    if (e.operator === 'Exists' && v === undefined) return false;
    if (e.operator === 'DoesNotExist' && v !== undefined) return false;
  }
  return true;
}

/** Kubernetes quantity to a number (cores, bytes). */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) throw new Error(`bad quantity ${q}`);
  const units: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  const unit = units[m[2]!];
  if (unit === undefined) throw new Error(`unknown unit in quantity ${q}`);
  return Number(m[1]) * unit;
}
