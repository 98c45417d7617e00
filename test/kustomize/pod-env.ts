/**
 * The environment a container would see, worked out from the rendered objects the way the kubelet
 * does: envFrom ConfigMaps and Secrets, env values with $(VAR) references, the Downward API (field
 * and resource references). Secrets the build does not contain (created per environment) are given
 * placeholder values of the right shape.
 */
import { generated, quantity, type K8sObject, type Workload } from './render.ts';

/** Placeholders for the Secrets an environment creates itself (kustomize/README.md). */
export const EXTERNAL_SECRETS: Record<string, Record<string, string>> = {
  'phoenix-api-keys': { API_KEYS: 'placeholder-api-key-0123456789' },
  'phoenix-redis': { REDIS_PASSWORD: 'placeholder-redis-password' },
  'phoenix-llm-providers': { OPENAI_API_KEY: 'sk-placeholder' },
  'phoenix-grafana': { 'admin-user': 'admin', 'admin-password': 'placeholder' },
  'phoenix-lb-tls': { 'tls.crt': 'placeholder certificate', 'tls.key': 'placeholder key' },
};

function data(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found) {
    if (kind === 'ConfigMap') return found.data ?? {};
    return Object.fromEntries(
      Object.entries((found.data ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    );
  }
  if (kind === 'Secret' && EXTERNAL_SECRETS[name]) return EXTERNAL_SECRETS[name];
  throw new Error(`${kind} ${name} is referenced but neither in the build nor a documented external Secret`);
}

/** Resolves `resourceFieldRef` as the kubelet does: the quantity divided by the divisor, rounded up. */
function resourceField(
  container: { resources?: { limits?: Record<string, string>; requests?: Record<string, string> } },
  ref: { resource: string; divisor?: string },
): string {
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', string];
  const q = container.resources?.[kind]?.[res];
  if (q === undefined) throw new Error(`resourceFieldRef ${ref.resource}: not set on the container`);
  return String(Math.ceil(quantity(q) / quantity(ref.divisor ?? '1') - 1e-9));
}

export function containerEnv(
  objects: K8sObject[],
  w: Workload,
  containerName: string,
): Record<string, string> {
  const c = [...(w.pod.initContainers ?? []), ...w.pod.containers].find((x) => x.name === containerName);
  if (!c) throw new Error(`${w.name} has no container ${containerName}`);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, data(objects, 'ConfigMap', from.configMapRef.name));
    if (from.secretRef) Object.assign(env, data(objects, 'Secret', from.secretRef.name));
  }
  const fields: Record<string, string> = {
    'metadata.name': `${w.name}-7d9f8b6c5d-x2x4z`,
    'metadata.namespace': 'phoenix-orch',
    'status.podIP': '10.1.2.3',
  };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
    } else if (e.valueFrom?.fieldRef) {
      const v = fields[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`unsupported fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      env[e.name] = v;
    } else if (e.valueFrom?.resourceFieldRef) {
      env[e.name] = resourceField(c, e.valueFrom.resourceFieldRef);
    } else if (e.valueFrom?.configMapKeyRef) {
      env[e.name] = data(objects, 'ConfigMap', e.valueFrom.configMapKeyRef.name)[
        e.valueFrom.configMapKeyRef.key
      ]!;
    } else if (e.valueFrom?.secretKeyRef) {
      env[e.name] = data(objects, 'Secret', e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key]!;
    }
  }
  return env;
}

/** The rendered text of a generated ConfigMap's key. */
export function configFile(objects: K8sObject[], configMap: string, key: string): string {
  const text = (generated(objects, 'ConfigMap', configMap).data ?? {})[key];
  if (typeof text !== 'string') throw new Error(`ConfigMap ${configMap} has no key ${key}`);
  return text;
}
