/**
 * The seed's numbers and choices (sections 2, 4, 5, 6.2), asserted on the rendered production overlay.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { RESOURCES } from '../../platform/limits.ts';
import { POOL_LIST } from '../../platform/pools.ts';
import { JOBS } from '../../platform/workloads.ts';
import { loadGitAgentConfig } from '../../services/git-agent/config.ts';
import { loadLlmRouterConfig } from '../../services/llm-router/config.ts';
import { loadObsidianConfig } from '../../services/obsidian-agent/config.ts';
import { loadOrchestratorConfig } from '../../services/orchestrator/config.ts';
import { configFile, containerEnv } from './pod-env.ts';
import {
  ROOT,
  build,
  find,
  generated,
  ofKind,
  quantity,
  selects,
  workloads,
  type K8sObject,
  type Workload,
} from './render.ts';

const prod = build('production');
const workload = (kind: string, name: string): Workload => {
  const w = workloads(prod).find((x) => x.kind === kind && x.name === name);
  if (!w) throw new Error(`no ${kind} ${name}`);
  return w;
};
const container = (w: Workload, name: string) => {
  const c = w.pod.containers.find((x) => x.name === name);
  if (!c) throw new Error(`${w.name} has no container ${name}`);
  return c;
};

const SEED_RESOURCES = RESOURCES;
const AGENTS = POOL_LIST.map((p) => p.service);

/** The HPA whose target is this workload. */
const hpaOf = (kind: string, name: string): K8sObject | undefined =>
  ofKind(prod, 'HorizontalPodAutoscaler').find(
    (h) => h.spec.scaleTargetRef.kind === kind && h.spec.scaleTargetRef.name === name,
  );
const pdbOf = (w: Workload): K8sObject | undefined =>
  ofKind(prod, 'PodDisruptionBudget').find((p) => selects(p.spec.selector, w.labels));
const resourceMetrics = (hpa: K8sObject) =>
  (hpa.spec.metrics as Array<{ type: string; resource: { name: string } }>)
    .filter((m) => m.type === 'Resource')
    .map((m) => m.resource.name)
    .sort();

describe('the seed 5.1: namespace phoenix-orch', () => {
  test('the namespace exists, enforces Pod Security "restricted", and holds every namespaced object', () => {
    const ns = find(prod, 'Namespace', 'phoenix-orch');
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];
    const elsewhere = prod.filter(
      (o) => !clusterScoped.includes(o.kind) && o.metadata.namespace !== 'phoenix-orch',
    );
    expect(elsewhere.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  test('a ResourceQuota and a LimitRange (the seed 7 phase 2: "create namespace and resource quotas")', () => {
    expect(ofKind(prod, 'ResourceQuota')).toHaveLength(1);
    expect(ofKind(prod, 'LimitRange')).toHaveLength(1);
  });
});

describe('the master orchestrator (the seed 2.2, 4.1, 5.1)', () => {
  const w = workload('Deployment', 'master-orchestrator');
  const c = container(w, 'orchestrator');

  test('a Deployment of at least 3 instances (its HPA owns the count) with pod label app: master-orchestrator', () => {
    expect(w.object.spec.replicas).toBeUndefined();
    expect(hpaOf('Deployment', 'master-orchestrator')!.spec.minReplicas).toBe(3);
    expect(w.labels.app).toBe('master-orchestrator');
    expect(w.object.spec.selector.matchLabels).toEqual({ app: 'master-orchestrator' });
  });

  test('resources exactly the seed 4.1', () => {
    expect(c.resources).toEqual(SEED_RESOURCES.orchestrator);
  });

  test('rolling update that never drops below the replicas', () => {
    expect(w.object.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  test('health probes: readiness on /health/ready, liveness on /health/live', () => {
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
  });

  test('preStop and the grace period cover the drain of phoenix.env', () => {
    const env = containerEnv(prod, w, 'orchestrator');
    const drainS = Number(env.SHUTDOWN_DRAIN_DELAY_MS) / 1000;
    const timeoutS = Number(env.SHUTDOWN_TIMEOUT_MS) / 1000;
    expect(drainS).toBe(5);
    expect(timeoutS).toBe(20);
    const preStop = c.lifecycle.preStop.sleep.seconds as number;
    expect(preStop).toBeGreaterThanOrEqual(5);
    expect(w.pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + drainS + timeoutS);
  });

  test('required anti-affinity across nodes plus a topology spread across zones', () => {
    const required = w.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(required).toEqual([
      {
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchLabels: { app: 'master-orchestrator' } },
      },
    ]);
    expect(w.pod.topologySpreadConstraints[0]).toMatchObject({
      topologyKey: 'topology.kubernetes.io/zone',
      labelSelector: { matchLabels: { app: 'master-orchestrator' } },
    });
  });

  test('a PodDisruptionBudget and an HPA on CPU and memory, never below 3', () => {
    expect(pdbOf(w)?.spec.maxUnavailable).toBe(1);
    const hpa = hpaOf('Deployment', 'master-orchestrator')!;
    expect(resourceMetrics(hpa)).toEqual(['cpu', 'memory']);
    expect(hpa.spec.minReplicas).toBe(3);
    // HAProxy's server-template addresses at most 20 orchestrators.
    expect(hpa.spec.maxReplicas).toBeLessThanOrEqual(20);
  });

  test('at most 1000 concurrent connections per instance (the seed 2.2), at the instance and the load balancer', () => {
    expect(loadOrchestratorConfig(containerEnv(prod, w, 'orchestrator')).MAX_CONNECTIONS).toBe(1000);
    expect(configFile(prod, 'haproxy-config', 'haproxy.cfg')).toMatch(
      /^\s*default-server .*\bmaxconn 1000\b/m,
    );
  });

  test('the Downward API fills CPU_LIMIT (cores) and MEMORY_LIMIT (bytes) with the exact limits', () => {
    const config = loadOrchestratorConfig(containerEnv(prod, w, 'orchestrator'));
    expect(config.CPU_LIMIT).toBe(2);
    expect(config.MEMORY_LIMIT).toBe(4 * 1024 ** 3);
    expect(config.INSTANCE_ID).toMatch(/^master-orchestrator-/);
    expect(config.REDIS_SENTINELS).toHaveLength(3);
    expect(config.PORT).toBe(8080);
  });

  test('shared configuration from the ConfigMap generated from phoenix.env', () => {
    const env = readFileSync(path.join(ROOT, 'kustomize/base/config/phoenix.env'), 'utf8');
    const expected = Object.fromEntries(
      env
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const cm = generated(prod, 'ConfigMap', 'phoenix-config');
    expect(cm.data).toEqual(expected);
    expect(cm.metadata.name).toMatch(/^phoenix-config-[a-z0-9]{10}$/); // hashed: a change rolls the pods
    expect(c.envFrom).toContainEqual({ configMapRef: { name: cm.metadata.name } });
  });
});

describe('the agent pools (the seed 2.4, 4.2)', () => {
  test.each(AGENTS)('%s: a Deployment with resources exactly the seed 4.2, health probes', (name) => {
    const w = workload('Deployment', name);
    const c = container(w, name);
    expect(c.resources).toEqual(SEED_RESOURCES.agent);
    expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/health/live');
    expect(w.pod.affinity.podAntiAffinity).toBeDefined();
    expect(w.object.spec.strategy.type).toBe('RollingUpdate');
  });

  test.each(AGENTS)('%s: its own HPA on CPU and memory, PDB and Service', (name) => {
    const w = workload('Deployment', name);
    const hpa = hpaOf('Deployment', name)!;
    expect(hpa.metadata.name).toBe(name);
    expect(resourceMetrics(hpa)).toEqual(['cpu', 'memory']);
    expect(pdbOf(w)).toBeDefined();
    const svc = find(prod, 'Service', name);
    expect(selects({ matchLabels: svc.spec.selector }, w.labels)).toBe(true);
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 9000, targetPort: 'http' }]);
  });

  test('independent scaling policies per agent type', () => {
    const policies = AGENTS.map((a) =>
      JSON.stringify([hpaOf('Deployment', a)!.spec.metrics, hpaOf('Deployment', a)!.spec.behavior]),
    );
    expect(new Set(policies).size).toBe(3);
  });

  test('each agent accepts its rendered configuration, limits exact', () => {
    const env = (name: string) => containerEnv(prod, workload('Deployment', name), name);
    const git = loadGitAgentConfig(env('git-agent'));
    expect(git.GIT_REPOS_ROOT).toBe('/var/lib/phoenix/repos');
    expect([git.CPU_LIMIT, git.MEMORY_LIMIT]).toEqual([1, 2 * 1024 ** 3]);
    const obsidian = loadObsidianConfig(env('obsidian-agent'));
    expect(obsidian.OBSIDIAN_VAULT_PATH).toBe('/var/lib/phoenix/vault');
    const llm = loadLlmRouterConfig(env('llm-router'));
    expect(llm.providers.length).toBeGreaterThan(0);
    expect(llm.AGENT_ADVERTISE_URL).toBe('http://10.1.2.3:9000');
  });

  test('the git repositories and the Obsidian vault come from volumes', () => {
    const git = workload('Deployment', 'git-agent');
    expect(git.pod.volumes).toContainEqual({
      name: 'repos',
      persistentVolumeClaim: { claimName: 'git-repos', readOnly: true },
    });
    const obsidian = workload('Deployment', 'obsidian-agent');
    expect(obsidian.pod.volumes).toContainEqual({
      name: 'vault',
      persistentVolumeClaim: { claimName: 'obsidian-vault' },
    });
    expect(find(prod, 'PersistentVolumeClaim', 'obsidian-vault').spec.accessModes).toEqual(['ReadWriteMany']);
  });
});

describe('Redis (the seed 2.3, 4.3, 5.2)', () => {
  const w = workload('StatefulSet', 'redis');
  const redis = container(w, 'redis');

  test('a StatefulSet of 3 with stable identities through a headless Service', () => {
    expect(w.replicas).toBe(3);
    expect(w.object.spec.serviceName).toBe('redis-headless');
    const svc = find(prod, 'Service', 'redis-headless');
    expect(svc.spec.clusterIP).toBe('None');
    expect(selects({ matchLabels: svc.spec.selector }, w.labels)).toBe(true);
  });

  test('the Redis container has resources exactly the seed 4.3', () => {
    expect(redis.resources).toEqual(SEED_RESOURCES.redis);
  });

  test('persistent volumes and RDB snapshots every 15 minutes (save 900 1)', () => {
    expect(w.object.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    const conf = configFile(prod, 'redis-config', 'redis.conf');
    expect(conf).toMatch(/^save 900 1$/m);
    expect(conf).toMatch(/^dir \/data$/m);
  });

  test('automated failover: a Sentinel in every pod, monitoring with quorum 2', () => {
    expect(container(w, 'sentinel').args).toEqual(['/etc/redis-run/sentinel.conf']);
    expect(configFile(prod, 'redis-config', 'sentinel.conf')).toMatch(
      /^sentinel monitor phoenix \S+ 6379 2$/m,
    );
  });

  test('a redis_exporter sidecar, a PDB, anti-affinity', () => {
    expect(container(w, 'redis-exporter').image).toMatch(/^oliver006\/redis_exporter:v/);
    expect(pdbOf(w)?.spec.maxUnavailable).toBe(1);
    expect(w.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe(
      'kubernetes.io/hostname',
    );
  });

  test('a regular backup schedule to a backup volume, keeping a bounded number', () => {
    const cron = find(prod, 'CronJob', 'redis-backup');
    expect(cron.spec.schedule).toBe('17 */6 * * *');
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'backup',
      persistentVolumeClaim: { claimName: 'redis-backup' },
    });
    expect(pod.containers[0].env).toContainEqual({ name: 'BACKUP_KEEP', value: '8' });
    expect(find(prod, 'PersistentVolumeClaim', 'redis-backup')).toBeDefined();
  });
});

describe('the load balancer (the seed 2.1)', () => {
  test('HAProxy: 2 replicas behind a LoadBalancer Service, TLS from Secret phoenix-lb-tls', () => {
    const w = workload('Deployment', 'haproxy');
    expect(w.replicas).toBe(2);
    const svc = find(prod, 'Service', 'haproxy');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https' }]);
    expect(w.pod.volumes).toContainEqual({
      name: 'tls',
      secret: {
        secretName: 'phoenix-lb-tls',
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.crt.key' },
        ],
      },
    });
    expect(find(prod, 'Certificate', 'phoenix-lb-tls').spec.secretName).toBe('phoenix-lb-tls');
  });

  test('round robin, /health checks, TLS termination, stickiness on the correlation id (the seed 2.1)', () => {
    const cfg = configFile(prod, 'haproxy-config', 'haproxy.cfg');
    expect(cfg).toMatch(/^\s*balance roundrobin$/m);
    expect(cfg).toMatch(/^\s*option httpchk$/m);
    expect(cfg).toMatch(/^\s*bind :8443 ssl crt /m);
    expect(cfg).toMatch(/^\s*stick on req\.hdr\(x-correlation-id\)$/m);
  });

  test('discovers the orchestrator pods through the headless Service', () => {
    const svc = find(prod, 'Service', 'master-orchestrator-headless');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.selector).toEqual({ app: 'master-orchestrator' });
    const cfg = configFile(prod, 'haproxy-config', 'haproxy.cfg');
    expect(cfg).toMatch(
      /server-template \S+ \d+ master-orchestrator-headless\.phoenix-orch\.svc\.cluster\.local:8080 resolvers kube/,
    );
    expect(cfg).toMatch(/http-check send meth GET uri \/health/);
  });
});

describe('monitoring (the seed 6.2)', () => {
  const SEED_JOB = parse(`
job_name: 'master-orchestrator'
kubernetes_sd_configs:
  - role: pod
relabel_configs:
  - source_labels: [__meta_kubernetes_pod_label_app]
    regex: master-orchestrator
    action: keep
metric_relabel_configs:
  - source_labels: [__name__]
    regex: 'orchestrator_.*'
    action: keep
`) as Record<string, unknown[]>;

  test('the ready scrape file holds the seed job as written', () => {
    const file = parse(
      readFileSync(
        path.join(ROOT, 'kustomize/components/monitoring-standalone/prometheus/prometheus.yml'),
        'utf8',
      ),
    ) as { scrape_configs: Array<Record<string, unknown[]>> };
    const job = file.scrape_configs.find((j) => (j.job_name as unknown) === 'master-orchestrator')!;
    expect(job.kubernetes_sd_configs).toEqual(SEED_JOB.kubernetes_sd_configs);
    expect(job.relabel_configs![0]).toEqual(SEED_JOB.relabel_configs![0]);
    expect(job.metric_relabel_configs).toEqual(SEED_JOB.metric_relabel_configs);
  });

  test('the PodMonitor does the same: pods labelled app: master-orchestrator, orchestrator_.* kept', () => {
    const pm = find(prod, 'PodMonitor', 'master-orchestrator');
    expect(pm.spec.selector).toEqual({ matchLabels: { app: 'master-orchestrator' } });
    expect(pm.spec.podMetricsEndpoints[0].metricRelabelings).toEqual([
      { action: 'keep', sourceLabels: ['__name__'], regex: 'orchestrator_.*' },
    ]);
  });

  test('every PodMonitor sets job to the local stack job names', () => {
    const jobs = ofKind(prod, 'PodMonitor').flatMap((pm) =>
      (
        pm.spec.podMetricsEndpoints as Array<{
          relabelings: Array<{ targetLabel: string; replacement: string }>;
        }>
      ).map((e) => e.relabelings.find((r) => r.targetLabel === 'job')!.replacement),
    );
    expect(jobs.sort()).toEqual(Object.values(JOBS).sort());
  });

  test('every PodMonitor port exists on the pods it selects', () => {
    for (const pm of ofKind(prod, 'PodMonitor')) {
      const pods = workloads(prod).filter((x) => selects(pm.spec.selector, x.labels));
      expect(pods.length).toBeGreaterThan(0);
      for (const e of pm.spec.podMetricsEndpoints) {
        const ports = pods.flatMap((p) =>
          p.pod.containers.flatMap((c) => (c.ports ?? []).map((x: { name: string }) => x.name)),
        );
        expect(ports).toContain(e.port);
      }
    }
  });

  test('the PrometheusRule and the dashboards carry the selector labels', () => {
    expect(ofKind(prod, 'PrometheusRule')).toHaveLength(1);
    expect(ofKind(prod, 'PrometheusRule')[0]!.metadata.labels.release).toBe('kube-prometheus-stack');
    const dashboards = ofKind(prod, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(dashboards.length).toBeGreaterThan(0);
    for (const d of dashboards) {
      for (const json of Object.values(d.data as Record<string, string>))
        expect(JSON.parse(json).uid).toBeDefined();
    }
  });

  test('quantities the tests use are read right', () => {
    expect(quantity('500m')).toBe(0.5);
    expect(quantity('2Gi')).toBe(2 * 1024 ** 3);
  });
});
