/**
 * Writes everything the local stack's processes read: the shared templates rendered for loopback,
 * the local-only configurations (the Kubernetes-Service stand-in, Prometheus, Alertmanager), a
 * self-signed TLS certificate, the development API key, and the sample repository and vault.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { FILES, fromRoot } from '../platform/files.ts';
import { POOL_LIST } from '../platform/pools.ts';
import { JOBS, NAMESPACE, ORCHESTRATOR } from '../platform/workloads.ts';
import { HOST, ROOT, type Layout } from './layout.ts';
import { renderHaproxy, renderRedis, renderSentinel } from './render.ts';

export const RULES_FILE = fromRoot(FILES.rules);
export const DRILL_RULES_FILE = fromRoot(FILES.drillRules);
export const SHARED_ENV_FILE = fromRoot(FILES.sharedEnv);

/** KEY=VALUE lines with # comments: the same env file the Kubernetes ConfigMap is generated from. */
export function readSharedEnv(file = SHARED_ENV_FILE): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${file}: not KEY=VALUE: ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

export const confFile = (l: Layout, name: string) => path.join(l.conf, name);
export const lbCertFile = (l: Layout) => path.join(l.tls, 'lb.pem');
export const lbCaFile = (l: Layout) => path.join(l.tls, 'lb.crt');
export const lbSocket = (l: Layout) => path.join(l.run, 'haproxy.sock');
export const lbMasterSocket = (l: Layout) => `${lbSocket(l)}.master`;

export function apiKey(l: Layout): string {
  if (!existsSync(l.apiKeyFile)) {
    mkdirSync(l.dir, { recursive: true });
    writeFileSync(l.apiKeyFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(l.apiKeyFile, 'utf8').trim();
}

function ensureCertificate(l: Layout): void {
  if (existsSync(lbCertFile(l))) return;
  mkdirSync(l.tls, { recursive: true });
  const key = path.join(l.tls, 'lb.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
      ...['-days', '825', '-nodes', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ...['-keyout', key, '-out', lbCaFile(l)],
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(lbCertFile(l), readFileSync(lbCaFile(l), 'utf8') + readFileSync(key, 'utf8'), {
    mode: 0o600,
  });
}

function ensureSampleData(l: Layout): void {
  const repos = path.join(l.data, 'repos');
  const repo = path.join(repos, 'phoenix-orch');
  mkdirSync(repos, { recursive: true });
  if (!existsSync(repo)) {
    execFileSync('git', ['clone', '-q', '--bare', ROOT, repo], { stdio: 'ignore' });
  }
  const vault = path.join(l.data, 'vault');
  if (!existsSync(vault)) {
    mkdirSync(path.join(vault, 'runbooks'), { recursive: true });
    mkdirSync(path.join(vault, 'daily'), { recursive: true });
    writeFileSync(
      path.join(vault, 'On-call.md'),
      '---\ntags: [oncall]\n---\n# On-call\n\nStart with [[runbooks/Redis failover]] and the #dashboards.\n',
    );
    writeFileSync(
      path.join(vault, 'runbooks', 'Redis failover.md'),
      '# Redis failover\n\nSentinel promotes a replica; see [[On-call]]. #redis\n',
    );
    writeFileSync(
      path.join(vault, 'daily', '2026-11-27.md'),
      '# 2026-11-27\n\nChecked [[On-call]]. #daily\n',
    );
  }
}

function writeRedisAndSentinel(l: Layout): void {
  const [primary] = l.ports.redis;
  l.ports.redis.forEach((port, i) => {
    const name = `redis-${i + 1}`;
    const dataDir = path.join(l.data, name);
    mkdirSync(dataDir, { recursive: true });
    // Written once: Redis and Sentinel rewrite their files (CONFIG REWRITE after a failover), and a
    // restarted node must come back with what it learnt, not with the first layout.
    const file = confFile(l, `${name}.conf`);
    if (existsSync(file)) return;
    writeFileSync(
      file,
      renderRedis({
        bindAddress: HOST,
        port,
        dataDir,
        maxmemory: '256mb',
        announceHost: HOST,
        replicaOf: i === 0 ? '# starts as the primary' : `replicaof ${HOST} ${primary}`,
        auth: '# no password on loopback',
      }),
    );
  });
  l.ports.sentinel.forEach((port, i) => {
    const name = `sentinel-${i + 1}`;
    const dataDir = path.join(l.data, name);
    mkdirSync(dataDir, { recursive: true });
    const file = confFile(l, `${name}.conf`);
    if (existsSync(file)) return;
    writeFileSync(
      file,
      renderSentinel({
        bindAddress: HOST,
        port,
        dataDir,
        announceHost: HOST,
        primaryHost: HOST,
        primaryPort: primary!,
        auth: '# no password on loopback',
      }),
    );
  });
}

function writeLoadBalancer(l: Layout): void {
  writeFileSync(
    confFile(l, 'haproxy.cfg'),
    renderHaproxy({
      bindAddress: HOST,
      httpsPort: l.ports.lbHttps,
      statsBindAddress: HOST,
      statsPort: l.ports.lbStats,
      tlsCert: lbCertFile(l),
      runtimeSocket: lbSocket(l),
      peerAddress: `${HOST}:${l.ports.lbPeer}`,
      resolvers: '',
      orchestratorServers: l.ports.orchestrator.map(
        (port, i) => `server orchestrator-${i + 1} ${HOST}:${port}`,
      ),
    }),
  );
}

/** Each pool's facts with its local ports: the Service stand-in's, and its instances'. */
export function pools(l: Layout) {
  return POOL_LIST.map((p) => ({ ...p, port: l.ports.pool[p.pool], members: l.ports.agents[p.pool] }));
}

/**
 * In Kubernetes each agent pool sits behind a Service; locally a second HAProxy stands in for them
 * (round robin over the pool's ready instances, checked on /health like a readiness probe).
 */
function writeServicesProxy(l: Layout): void {
  const sections = pools(l).map((p) =>
    [
      `listen ${p.service}`,
      `    bind ${HOST}:${p.port}`,
      '    balance roundrobin',
      '    option httpchk',
      '    http-check send meth GET uri /health',
      '    default-server check inter 1s fall 2 rise 1',
      ...p.members.map((port, i) => `    server ${p.service}-${i + 1} ${HOST}:${port}`),
    ].join('\n'),
  );
  const text = [
    '# Local stand-in for the Kubernetes Services of the agent pools (not used in Kubernetes).',
    'global',
    '    maxconn 4000',
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 60s',
    '    timeout server 60s',
    '    retries 2',
    '    retry-on conn-failure',
    '    option redispatch',
    ...sections.flatMap((s) => ['', s]),
    '',
    'frontend stats',
    `    bind ${HOST}:${l.ports.servicesProxyStats}`,
    '    http-request use-service prometheus-exporter if { path /metrics }',
    '    monitor-uri /healthz',
    '',
  ].join('\n');
  writeFileSync(confFile(l, 'services-proxy.cfg'), text);
}

/** The commit the services run from, for their `*_build_info` (as the image's GIT_COMMIT build argument). */
export function checkoutCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The namespace label the Prometheus Operator gives every target: the alerts and dashboards select by it. */
const targetLabels = (pod: string) => ({ namespace: NAMESPACE, pod });

const target = (port: number, pod: string, extra: Record<string, string> = {}) => ({
  targets: [`${HOST}:${port}`],
  labels: { ...targetLabels(pod), ...extra },
});

type Relabel = {
  source_labels?: string[];
  regex?: string;
  action?: string;
  target_label?: string;
  replacement?: string;
};

/** One scrape job of the local Prometheus (the fields it uses). */
export interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  honor_labels?: boolean;
  static_configs: Array<{ targets: string[]; labels: Record<string, string> }>;
  relabel_configs?: Relabel[];
  metric_relabel_configs?: Relabel[];
}

/** The local Prometheus: the seed's 6.2 job (kept to `orchestrator_.*`) and one job per other component. */
export function prometheusConfig(l: Layout, drill: boolean) {
  const rules = drill ? DRILL_RULES_FILE : RULES_FILE;
  const byPool = pools(l);
  return {
    global: { scrape_interval: '5s', scrape_timeout: '4s', evaluation_interval: '5s' },
    rule_files: existsSync(rules) ? [rules] : [],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`${HOST}:${l.ports.alertmanager}`] }] }] },
    scrape_configs: [
      {
        job_name: JOBS.orchestrator,
        static_configs: l.ports.orchestrator.map((p, i) => target(p, `orchestrator-${i + 1}`)),
        metric_relabel_configs: [
          { source_labels: ['__name__'], regex: `${ORCHESTRATOR.metricPrefix}.*`, action: 'keep' },
        ],
      },
      ...byPool.map((p) => ({
        job_name: p.job,
        static_configs: p.members.map((port, i) => target(port, `${p.service}-${i + 1}`)),
      })),
      {
        job_name: JOBS.redis,
        static_configs: l.ports.redisExporter.map((p, i) =>
          target(p, `redis-${i + 1}`, { instance: `${HOST}:${l.ports.redis[i]}` }),
        ),
      },
      {
        job_name: JOBS.redisSentinel,
        metrics_path: '/scrape',
        static_configs: l.ports.sentinel.map((p, i) => ({
          targets: [`redis://${HOST}:${p}`],
          labels: targetLabels(`sentinel-${i + 1}`),
        })),
        relabel_configs: [
          { source_labels: ['__address__'], target_label: '__param_target' },
          { source_labels: ['__param_target'], regex: 'redis://(.*)', target_label: 'instance' },
          { target_label: '__address__', replacement: `${HOST}:${l.ports.sentinelExporter}` },
        ],
      },
      { job_name: JOBS.haproxy, static_configs: [target(l.ports.lbStats, 'load-balancer')] },
      { job_name: 'services-proxy', static_configs: [target(l.ports.servicesProxyStats, 'services-proxy')] },
      {
        job_name: JOBS.pushgateway,
        honor_labels: true,
        static_configs: [target(l.ports.pushgateway, 'pushgateway')],
      },
      { job_name: 'prometheus', static_configs: [target(l.ports.prometheus, 'prometheus')] },
      { job_name: 'alertmanager', static_configs: [target(l.ports.alertmanager, 'alertmanager')] },
    ] satisfies ScrapeConfig[] as ScrapeConfig[],
  };
}

export function writePrometheusConfig(l: Layout, drill: boolean): void {
  writeFileSync(confFile(l, 'prometheus.yml'), stringify(prometheusConfig(l, drill)));
}

function writeAlertmanagerConfig(l: Layout): void {
  const config = {
    route: {
      receiver: 'recorder',
      group_by: ['alertname', 'instance', 'pool'],
      group_wait: '1s',
      group_interval: '5s',
      repeat_interval: '1h',
    },
    receivers: [
      {
        name: 'recorder',
        webhook_configs: [{ url: `http://${HOST}:${l.ports.alertReceiver}/alerts`, send_resolved: true }],
      },
    ],
  };
  writeFileSync(confFile(l, 'alertmanager.yml'), stringify(config));
}

export function prepare(l: Layout, drill: boolean): void {
  for (const d of [l.dir, l.logs, l.run, l.conf, l.data]) mkdirSync(d, { recursive: true });
  apiKey(l);
  ensureCertificate(l);
  ensureSampleData(l);
  writeRedisAndSentinel(l);
  writeLoadBalancer(l);
  writeServicesProxy(l);
  writePrometheusConfig(l, drill);
  writeAlertmanagerConfig(l);
  for (const d of ['prometheus', 'alertmanager', 'alert-receiver'])
    mkdirSync(path.join(l.data, d), { recursive: true });
}
