/**
 * Renders the Kustomize overlays with the real `kubectl kustomize` and gives the tests typed access to
 * the objects. kubectl is required: without it the tests fail with a message saying so, never skip.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * A build the tests render: an overlay as it is, or a variant of it made the way a user would make one,
 * by adding components to its list (before `components/release`, which must stay last) and changing
 * its settings (settings.yaml, ConfigMap phoenix-settings). Variants are rendered from a temporary copy
 * of the overlay's folder.
 */
export interface BuildSpec {
  overlay: string;
  /** Folder names under kustomize/components. */
  components?: readonly string[];
  settings?: Readonly<Record<string, string>>;
}

const DEV = 'kustomize/overlays/dev';
const PRODUCTION = 'kustomize/overlays/production';

/** Every build the tests render: the two overlays, and variants that add the optional components. */
export const BUILDS = {
  dev: { overlay: DEV },
  production: { overlay: PRODUCTION },
  'dev-all-components': {
    overlay: DEV,
    components: ['ingress-nginx', 'monitoring-standalone', 'pushgateway'],
  },
  'production-ingress': { overlay: PRODUCTION, components: ['ingress-nginx'] },
  'production-gateway': { overlay: PRODUCTION, components: ['gateway-api'] },
} as const satisfies Record<string, BuildSpec>;

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

/** The settings of an overlay: the data of its settings.yaml. */
export function overlaySettings(overlay: string): Record<string, string> {
  const doc = parse(readFileSync(path.join(ROOT, overlay, 'settings.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  return doc.data;
}

/**
 * Renders a variant of an overlay: its folder copied to a temporary one, the paths leading out of it
 * rewritten to reach the same places, the extra components inserted before `components/release` and
 * the settings changed. The copy is removed before this returns.
 */
export function renderVariant(spec: BuildSpec): K8sObject[] {
  if (!spec.components?.length && !spec.settings) return kustomize(spec.overlay);
  const source = path.join(ROOT, spec.overlay);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'phoenix-overlay-'));
  try {
    cpSync(source, dir, { recursive: true });
    const file = path.join(dir, 'kustomization.yaml');
    const k = parse(readFileSync(file, 'utf8')) as { resources?: string[]; components?: string[] };
    const outside = (p: string) => {
      const abs = path.resolve(source, p);
      return abs.startsWith(source + path.sep) ? p : path.relative(dir, abs);
    };
    k.resources = (k.resources ?? []).map(outside);
    const components = (k.components ?? []).map(outside);
    const release = components.findIndex((c) => c.endsWith('components/release'));
    if (release < 0) throw new Error(`${spec.overlay} does not end its components with components/release`);
    const extra = (spec.components ?? []).map((c) =>
      path.relative(dir, path.join(ROOT, 'kustomize/components', c)),
    );
    components.splice(release, 0, ...extra);
    k.components = components;
    writeFileSync(file, stringify(k));
    if (spec.settings) {
      const settingsFile = path.join(dir, 'settings.yaml');
      const settings = parse(readFileSync(settingsFile, 'utf8')) as { data: Record<string, string> };
      Object.assign(settings.data, spec.settings);
      writeFileSync(settingsFile, stringify(settings));
    }
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cache = new Map<BuildName, K8sObject[]>();

/** A build's objects, rendered once per test file. */
export function build(name: BuildName): K8sObject[] {
  let objects = cache.get(name);
  if (!objects) {
    objects = renderVariant(BUILDS[name]);
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
