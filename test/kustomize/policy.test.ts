/**
 * Policy checks on every rendered workload of every build: the Pod Security Standard "restricted",
 * resources, pinned images, probes, disruption budgets, and that Services, NetworkPolicies, HPAs and
 * volumes point at things that exist.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXTERNAL_SECRETS } from './pod-env.ts';
import {
  BUILD_NAMES,
  ROOT,
  allContainers,
  build,
  find,
  ofKind,
  quantity,
  selects,
  workloads,
  type K8sObject,
  type Workload,
} from './render.ts';

/** `name: problem` lines for each container of each workload that breaks the rule. */
function perContainer(
  ws: Workload[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  rule: (c: any, w: Workload, init: boolean) => string | undefined,
): string[] {
  const out: string[] = [];
  for (const w of ws) {
    for (const c of w.pod.initContainers ?? []) {
      const p = rule(c, w, true);
      if (p) out.push(`${w.kind}/${w.name}/${c.name}: ${p}`);
    }
    for (const c of w.pod.containers) {
      const p = rule(c, w, false);
      if (p) out.push(`${w.kind}/${w.name}/${c.name}: ${p}`);
    }
  }
  return out;
}

/** Container ports of a pod, by name and number. */
function podPorts(w: Workload): Array<{ name?: string; containerPort: number }> {
  return w.pod.containers.flatMap((c) => c.ports ?? []);
}
const hasPort = (w: Workload, port: string | number) =>
  podPorts(w).some((p) => p.containerPort === port || p.name === port);

describe.each(BUILD_NAMES)('build %s', (name) => {
  let objects: K8sObject[];
  let ws: Workload[];
  beforeAll(() => {
    objects = build(name);
    ws = workloads(objects);
  });

  test('pods run as non-root with the RuntimeDefault seccomp profile and no host namespaces', () => {
    const problems = ws.flatMap((w) => {
      const sc = w.pod.securityContext ?? {};
      const p: string[] = [];
      if (sc.runAsNonRoot !== true) p.push('runAsNonRoot is not true');
      if (!sc.runAsUser) p.push('no non-zero runAsUser');
      if (sc.seccompProfile?.type !== 'RuntimeDefault') p.push('seccompProfile is not RuntimeDefault');
      if (w.pod.hostNetwork || w.pod.hostPID || w.pod.hostIPC) p.push('uses a host namespace');
      for (const v of w.pod.volumes ?? []) if (v.hostPath) p.push(`hostPath volume ${v.name}`);
      return p.map((x) => `${w.kind}/${w.name}: ${x}`);
    });
    expect(problems).toEqual([]);
  });

  test('every container: read-only root filesystem, no privilege escalation, all capabilities dropped', () => {
    expect(
      perContainer(ws, (c) => {
        const sc = c.securityContext ?? {};
        if (sc.readOnlyRootFilesystem !== true) return 'root filesystem is writable';
        if (sc.allowPrivilegeEscalation !== false) return 'privilege escalation allowed';
        if (!(sc.capabilities?.drop ?? []).includes('ALL')) return 'capabilities not dropped';
        if ((sc.capabilities?.add ?? []).length > 0) return 'adds capabilities';
        if (sc.privileged) return 'privileged';
        if (sc.runAsUser === 0) return 'runs as root';
        return undefined;
      }),
    ).toEqual([]);
  });

  test('every container states CPU and memory requests and limits, within the LimitRange', () => {
    const max = find(objects, 'LimitRange', 'phoenix-orch').spec.limits.find(
      (l: { type: string }) => l.type === 'Container',
    ).max;
    expect(
      perContainer(ws, (c) => {
        for (const kind of ['requests', 'limits'] as const) {
          for (const res of ['cpu', 'memory']) {
            if (c.resources?.[kind]?.[res] === undefined) return `no ${kind}.${res}`;
          }
        }
        for (const res of ['cpu', 'memory']) {
          if (quantity(c.resources.requests[res]) > quantity(c.resources.limits[res]))
            return `${res} request above limit`;
          if (quantity(c.resources.limits[res]) > quantity(max[res]))
            return `${res} limit above the LimitRange`;
        }
        return undefined;
      }),
    ).toEqual([]);
  });

  test('CPU limits reported through the Downward API are whole cores (CPU_LIMIT is in cores)', () => {
    expect(
      perContainer(ws, (c) => {
        const ref = (c.env ?? []).find((e: { name: string }) => e.name === 'CPU_LIMIT')?.valueFrom
          ?.resourceFieldRef;
        if (!ref) return undefined;
        if (ref.resource !== 'limits.cpu' || ref.divisor !== '1')
          return 'CPU_LIMIT is not limits.cpu in cores';
        const cores = quantity(c.resources.limits.cpu);
        return Number.isInteger(cores) ? undefined : `cpu limit ${c.resources.limits.cpu} is not whole cores`;
      }),
    ).toEqual([]);
  });

  test('every image is pinned: an explicit tag other than latest, or a digest', () => {
    expect(
      perContainer(ws, (c) => {
        const image = c.image as string;
        if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
        const tag = /:([^/:]+)$/.exec(image)?.[1];
        if (!tag) return `image ${image} has no tag`;
        if (tag === 'latest') return `image ${image} uses latest`;
        return undefined;
      }),
    ).toEqual([]);
  });

  test('every long-running container has readiness and liveness probes', () => {
    expect(
      perContainer(
        ws.filter((w) => w.longRunning),
        (c, _w, init) =>
          init || (c.readinessProbe && c.livenessProbe) ? undefined : 'no readiness or liveness probe',
      ),
    ).toEqual([]);
  });

  test('every multi-replica workload has a PodDisruptionBudget that never blocks a drain', () => {
    const pdbs = ofKind(objects, 'PodDisruptionBudget');
    const problems: string[] = [];
    for (const w of ws.filter((x) => x.longRunning)) {
      const hpa = ofKind(objects, 'HorizontalPodAutoscaler').find(
        (h) => h.spec.scaleTargetRef.name === w.name,
      );
      const most = Math.max(w.replicas, hpa?.spec.maxReplicas ?? 0);
      const matching = pdbs.filter((p) => selects(p.spec.selector, w.labels));
      if (most > 1 && matching.length !== 1) problems.push(`${w.kind}/${w.name}: ${matching.length} PDBs`);
      for (const p of matching) {
        // With the fewest replicas the workload runs, at least one pod may still be evicted.
        const fewest = hpa?.spec.minReplicas ?? w.replicas;
        const allowed =
          p.spec.maxUnavailable !== undefined
            ? Number(p.spec.maxUnavailable)
            : fewest - Number(p.spec.minAvailable);
        if (allowed < 1) problems.push(`${w.kind}/${w.name}: PDB ${p.metadata.name} blocks every eviction`);
      }
    }
    for (const p of pdbs) {
      if (!ws.some((w) => selects(p.spec.selector, w.labels)))
        problems.push(`PDB ${p.metadata.name} selects nothing`);
    }
    expect(problems).toEqual([]);
  });

  test('every Service selects at least one workload, and its target ports exist there', () => {
    const problems: string[] = [];
    for (const svc of ofKind(objects, 'Service')) {
      const selected = ws.filter((w) => selects({ matchLabels: svc.spec.selector ?? {} }, w.labels));
      if (!svc.spec.selector || selected.length === 0) {
        problems.push(`Service ${svc.metadata.name} selects no workload`);
        continue;
      }
      for (const port of svc.spec.ports) {
        const target = port.targetPort ?? port.port;
        if (!selected.every((w) => hasPort(w, target)))
          problems.push(`Service ${svc.metadata.name}: no port ${target}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every NetworkPolicy selects pods, and every port it names exists on the pods it concerns', () => {
    const problems: string[] = [];
    for (const np of ofKind(objects, 'NetworkPolicy')) {
      const id = `NetworkPolicy ${np.metadata.name}`;
      const subjects = ws.filter((w) => selects(np.spec.podSelector, w.labels));
      if (subjects.length === 0) problems.push(`${id} selects no pod`);
      for (const rule of np.spec.ingress ?? []) {
        for (const peer of rule.from ?? []) {
          if (
            peer.podSelector &&
            !peer.namespaceSelector &&
            !ws.some((w) => selects(peer.podSelector, w.labels))
          ) {
            problems.push(`${id}: ingress peer ${JSON.stringify(peer.podSelector)} selects no pod`);
          }
        }
        for (const p of rule.ports ?? []) {
          const lacking = subjects.filter((w) => w.longRunning && !hasPort(w, p.port));
          if (lacking.length > 0)
            problems.push(`${id}: ingress port ${p.port} missing on ${lacking.map((w) => w.name)}`);
        }
      }
      for (const rule of np.spec.egress ?? []) {
        // Only peers in this namespace can be checked; other namespaces and IP blocks are outside.
        const peers = (rule.to ?? []).filter(
          (t: { podSelector?: unknown; namespaceSelector?: unknown }) =>
            t.podSelector && !t.namespaceSelector,
        );
        for (const peer of peers) {
          const targets = ws.filter((w) => selects(peer.podSelector, w.labels));
          if (targets.length === 0)
            problems.push(`${id}: egress peer ${JSON.stringify(peer.podSelector)} selects no pod`);
          for (const p of rule.ports ?? []) {
            if (!targets.some((w) => hasPort(w, p.port)))
              problems.push(`${id}: egress port ${p.port} exists on no peer`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('every HPA, ConfigMap, Secret and claim a workload names exists (or is a documented external Secret)', () => {
    const has = (kind: string, n: string) => objects.some((o) => o.kind === kind && o.metadata.name === n);
    const problems: string[] = [];
    for (const h of ofKind(objects, 'HorizontalPodAutoscaler')) {
      const t = h.spec.scaleTargetRef;
      if (!has(t.kind, t.name)) problems.push(`HPA ${h.metadata.name}: no ${t.kind} ${t.name}`);
    }
    // A build that generates Secrets (dev) must hold every one it names; one that does not (production)
    // may only name the Secrets kustomize/README.md tells users to create.
    const generatesSecrets = ofKind(objects, 'Secret').length > 0;
    const secret = (n: string, where: string) => {
      if (!has('Secret', n) && (generatesSecrets || !(n in EXTERNAL_SECRETS)))
        problems.push(`${where}: no Secret ${n}`);
    };
    for (const w of ws) {
      const where = `${w.kind}/${w.name}`;
      const claims = (w.object.spec.volumeClaimTemplates ?? []).map((t: K8sObject) => t.metadata.name);
      for (const v of w.pod.volumes ?? []) {
        if (v.configMap && !has('ConfigMap', v.configMap.name))
          problems.push(`${where}: no ConfigMap ${v.configMap.name}`);
        if (v.secret) secret(v.secret.secretName, where);
        for (const s of v.projected?.sources ?? []) {
          if (s.configMap && !has('ConfigMap', s.configMap.name))
            problems.push(`${where}: no ConfigMap ${s.configMap.name}`);
        }
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim && !has('PersistentVolumeClaim', claim)) problems.push(`${where}: no claim ${claim}`);
      }
      for (const c of allContainers(w.pod)) {
        for (const m of c.volumeMounts ?? []) {
          if (
            !(w.pod.volumes ?? []).some((v: { name: string }) => v.name === m.name) &&
            !claims.includes(m.name)
          ) {
            problems.push(`${where}/${c.name}: mounts unknown volume ${m.name}`);
          }
        }
        for (const f of c.envFrom ?? []) {
          if (f.configMapRef && !has('ConfigMap', f.configMapRef.name))
            problems.push(`${where}: no ConfigMap ${f.configMapRef.name}`);
          if (f.secretRef) secret(f.secretRef.name, where);
        }
        for (const e of c.env ?? []) {
          const cm = e.valueFrom?.configMapKeyRef;
          if (
            cm &&
            !(has('ConfigMap', cm.name) && cm.key in (find(objects, 'ConfigMap', cm.name).data ?? {}))
          ) {
            problems.push(`${where}: no ConfigMap key ${cm.name}/${cm.key}`);
          }
          if (e.valueFrom?.secretKeyRef) secret(e.valueFrom.secretKeyRef.name, where);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('service accounts: no API token in pods that do not call the API', () => {
    const problems = ws
      .filter((w) => !w.pod.serviceAccountName && w.pod.automountServiceAccountToken !== false)
      .map((w) => `${w.kind}/${w.name} mounts an API token it does not need`);
    expect(problems).toEqual([]);
  });
});

describe('dev: one replica of everything', () => {
  test('every workload runs one pod, every HPA starts at one', () => {
    const dev = build('dev');
    expect(
      workloads(dev)
        .filter((w) => w.replicas !== 1)
        .map((w) => w.name),
    ).toEqual([]);
    expect(ofKind(dev, 'HorizontalPodAutoscaler').every((h) => h.spec.minReplicas === 1)).toBe(true);
  });

  test('throw-away Secrets are generated, with obviously fake values, and nothing else is secret', () => {
    const dev = build('dev');
    const secrets = ofKind(dev, 'Secret');
    expect(secrets.map((s) => s.metadata.name.replace(/-[a-z0-9]{10}$/, '')).sort()).toEqual(
      [
        'phoenix-api-keys',
        'phoenix-grafana',
        'phoenix-lb-tls',
        'phoenix-llm-providers',
        'phoenix-redis',
      ].sort(),
    );
    for (const s of secrets.filter((x) => x.type !== 'kubernetes.io/tls')) {
      for (const v of Object.values(s.data as Record<string, string>)) {
        const text = Buffer.from(v, 'base64').toString();
        if (text !== 'admin') expect(text).toMatch(/dev-only/);
      }
    }
  });

  test('the production overlay contains no Secret: they are created per environment', () => {
    expect(ofKind(build('production'), 'Secret')).toEqual([]);
  });
});

describe('the ResourceQuota', () => {
  test('covers production at its autoscaling maxima, one surge pod per Deployment, with the standalone monitoring', () => {
    const prod = build('production');
    const monitoring = workloads(build('dev-all-components')).filter((w) =>
      ['prometheus', 'alertmanager', 'grafana'].includes(w.name),
    );
    const hard = find(prod, 'ResourceQuota', 'phoenix-orch').spec.hard;
    const total = { 'requests.cpu': 0, 'requests.memory': 0, 'limits.cpu': 0, 'limits.memory': 0, pods: 0 };
    for (const w of [...workloads(prod), ...monitoring]) {
      const hpa = ofKind(prod, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === w.name);
      const surge = w.kind === 'Deployment' && w.object.spec.strategy?.type !== 'Recreate' ? 1 : 0;
      const pods = Math.max(w.replicas, hpa?.spec.maxReplicas ?? 0) + surge;
      total.pods += pods;
      // Init containers run before the others; the pod's need is the larger of the two.
      for (const kind of ['requests', 'limits'] as const) {
        for (const res of ['cpu', 'memory'] as const) {
          const sum = w.pod.containers.reduce((a, c) => a + quantity(c.resources[kind][res]), 0);
          const init = Math.max(
            0,
            ...(w.pod.initContainers ?? []).map((c) => quantity(c.resources[kind][res])),
          );
          total[`${kind}.${res}`] += pods * Math.max(sum, init);
        }
      }
    }
    const over = Object.entries(total)
      .filter(([k, v]) => v > quantity(hard[k]))
      .map(([k, v]) => `${k}: needs ${Number(v.toFixed(3))}, quota ${hard[k]}`);
    expect(over).toEqual([]);
    const claims = ofKind(prod, 'PersistentVolumeClaim').length + 3 + 1; // + Redis claims + Prometheus
    expect(claims).toBeLessThanOrEqual(Number(hard.persistentvolumeclaims));
  });
});

describe('the image', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');

  test('multi-stage, Node pinned to the version the project runs, production dependencies only, non-root', () => {
    const node = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies.node;
    expect(dockerfile).toContain(`ARG NODE_VERSION=${node}`);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS deps$/m);
    expect(dockerfile).toMatch(/^FROM gcr\.io\/distroless\/nodejs24-debian12:nonroot AS runtime$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
  });

  test('every workload built from it starts a service entry point that the image contains', () => {
    const entries = new Set<string>();
    for (const name of BUILD_NAMES) {
      for (const w of workloads(build(name))) {
        for (const c of w.pod.containers.filter((x) => /phoenix-orch/.test(x.image))) entries.add(c.args[0]);
      }
    }
    expect([...entries].sort()).toEqual(
      ['git-agent', 'llm-router', 'obsidian-agent', 'orchestrator'].map((s) => `services/${s}/main.ts`),
    );
    // The build context lets in only what the image copies.
    expect(dockerignore).toMatch(/^\*$/m);
    for (const keep of ['!package.json', '!package-lock.json', '!services/'])
      expect(dockerignore).toContain(keep);
    expect(dockerfile).toMatch(/^COPY services \.\/services$/m);
  });

  test('the image holds every project folder the entry points import', () => {
    const folders = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      folders.add(path.relative(ROOT, file).split(path.sep)[0]!);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)) {
        visit(path.resolve(path.dirname(file), m[1]!));
      }
    };
    for (const s of ['git-agent', 'llm-router', 'obsidian-agent', 'orchestrator'])
      visit(path.join(ROOT, 'services', s, 'main.ts'));
    for (const folder of folders) {
      expect([folder, dockerignore.includes(`!${folder}/`)]).toEqual([folder, true]);
      expect([folder, dockerfile.includes(`COPY ${folder} ./${folder}`)]).toEqual([folder, true]);
    }
    expect([...folders].sort()).toEqual(['platform', 'services']);
  });
});
