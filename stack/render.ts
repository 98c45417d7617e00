/**
 * Renders the configuration templates in stack/templates (HAProxy, Redis, Sentinel) that the local
 * stack and the Kubernetes manifests share. Each target supplies only what differs between them:
 * addresses, ports, paths. `node stack/render.ts --write|--check` keeps the Kubernetes copies in
 * kustomize/generated/config up to date.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILES, fromRoot, ROOT } from '../platform/files.ts';
import { MAX_CONNECTIONS } from '../platform/limits.ts';
import { PORTS } from '../platform/ports.ts';
import { NAMESPACE, ORCHESTRATOR, REDIS } from '../platform/workloads.ts';

const TEMPLATES = path.join(ROOT, 'stack', 'templates');
export const KUBERNETES_CONFIG_DIR = fromRoot(FILES.kubernetesConfig);

/** The settings both targets share: one place for each. */
export const shared = {
  masterName: REDIS.masterName,
  sentinelQuorum: 2,
  /** A primary silent this long is subjectively down; with quorum, failover starts (goal: writes back < 5 s). */
  sentinelDownAfterMs: 1500,
  sentinelFailoverTimeoutMs: 10000,
  /** The seed's per-instance connection limit; excess connections queue at the load balancer. */
  orchestratorMaxConn: MAX_CONNECTIONS,
  lbGlobalMaxConn: 8000,
  localPeer: 'phoenix-lb',
} as const;

/** Fills every `{{NAME}}` in a template; a placeholder without a value, or a value without a placeholder, is an error. */
export function fill(template: string, values: Record<string, string | number>): string {
  const used = new Set<string>();
  const out = template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`template placeholder {{${name}}} has no value`);
    used.add(name);
    return String(values[name]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`values without a placeholder: ${unused.join(', ')}`);
  return out;
}

const template = (name: string) => readFileSync(path.join(TEMPLATES, name), 'utf8');

export interface HaproxyValues {
  bindAddress: string;
  httpsPort: number;
  statsBindAddress: string;
  statsPort: number;
  tlsCert: string;
  runtimeSocket: string;
  peerAddress: string;
  /** The `server` / `server-template` lines of the orchestrators backend. */
  orchestratorServers: string[];
  /** A `resolvers` section (Kubernetes DNS discovery), or nothing. */
  resolvers: string;
}

export function renderHaproxy(v: HaproxyValues): string {
  return fill(template('haproxy.cfg'), {
    GLOBAL_MAXCONN: shared.lbGlobalMaxConn,
    RUNTIME_SOCKET: v.runtimeSocket,
    LOCAL_PEER: shared.localPeer,
    PEER_ADDRESS: v.peerAddress,
    RESOLVERS: v.resolvers,
    BIND_ADDRESS: v.bindAddress,
    HTTPS_PORT: v.httpsPort,
    TLS_CERT: v.tlsCert,
    SERVER_MAXCONN: shared.orchestratorMaxConn,
    ORCHESTRATOR_SERVERS: v.orchestratorServers.map((s) => `    ${s}`).join('\n'),
    STATS_BIND_ADDRESS: v.statsBindAddress,
    STATS_PORT: v.statsPort,
  });
}

export interface RedisValues {
  bindAddress: string;
  port: number;
  dataDir: string;
  maxmemory: string;
  announceHost: string;
  /** `replicaof host port`, or a comment when the instance starts as the primary. */
  replicaOf: string;
  auth: string;
}

export function renderRedis(v: RedisValues): string {
  return fill(template('redis.conf'), {
    BIND_ADDRESS: v.bindAddress,
    PORT: v.port,
    DATA_DIR: v.dataDir,
    MAXMEMORY: v.maxmemory,
    ANNOUNCE_HOST: v.announceHost,
    REPLICAOF: v.replicaOf,
    AUTH: v.auth,
  });
}

export interface SentinelValues {
  bindAddress: string;
  port: number;
  dataDir: string;
  announceHost: string;
  primaryHost: string;
  primaryPort: number;
  auth: string;
}

export function renderSentinel(v: SentinelValues): string {
  return fill(template('sentinel.conf'), {
    BIND_ADDRESS: v.bindAddress,
    PORT: v.port,
    DATA_DIR: v.dataDir,
    ANNOUNCE_HOST: v.announceHost,
    MASTER_NAME: shared.masterName,
    PRIMARY_HOST: v.primaryHost,
    PRIMARY_PORT: v.primaryPort,
    QUORUM: shared.sentinelQuorum,
    DOWN_AFTER_MS: shared.sentinelDownAfterMs,
    FAILOVER_TIMEOUT_MS: shared.sentinelFailoverTimeoutMs,
    AUTH: v.auth,
  });
}

/**
 * Kubernetes values. Tokens written `@NAME@` are filled in the pod at start (the pod's own DNS name,
 * the Redis password from its Secret) by the init step that kustomize/base sets up.
 */
export const kubernetes = {
  namespace: NAMESPACE,
  redisPort: PORTS.redis,
  sentinelPort: PORTS.sentinel,
  httpsPort: PORTS.loadBalancerHttps,
  statsPort: PORTS.loadBalancerStats,
  orchestratorPort: PORTS.orchestrator,
  /** server-template slots: the most orchestrator pods the load balancer can address (HPA maximum). */
  orchestratorSlots: 20,
  redisHeadless: REDIS.headlessService,
  orchestratorHeadless: ORCHESTRATOR.headlessService,
};

const svc = (name: string) => `${name}.${kubernetes.namespace}.svc.cluster.local`;

export function kubernetesConfigs(): Record<string, string> {
  const auth = 'requirepass @REDIS_PASSWORD@\nmasterauth @REDIS_PASSWORD@';
  return {
    'haproxy.cfg': renderHaproxy({
      bindAddress: '',
      httpsPort: kubernetes.httpsPort,
      statsBindAddress: '',
      statsPort: kubernetes.statsPort,
      // The TLS Secret mounted with tls.key as tls.crt.key: HAProxy loads the key beside the certificate.
      tlsCert: '/etc/haproxy/tls/tls.crt',
      runtimeSocket: '/var/run/haproxy/admin.sock',
      peerAddress: '127.0.0.1:10000',
      resolvers: [
        'resolvers kube',
        '    parse-resolv-conf',
        '    hold valid 5s',
        '    hold obsolete 10s',
        '',
      ].join('\n'),
      orchestratorServers: [
        `server-template orchestrator- ${kubernetes.orchestratorSlots} ` +
          `${svc(kubernetes.orchestratorHeadless)}:${kubernetes.orchestratorPort} ` +
          'resolvers kube init-addr none resolve-prefer ipv4',
      ],
    }),
    'redis.conf': renderRedis({
      bindAddress: '0.0.0.0',
      port: kubernetes.redisPort,
      dataDir: '/data',
      // Half the seed's 8Gi limit: an RDB fork can touch every page again while it writes.
      maxmemory: '4gb',
      announceHost: '@ANNOUNCE_HOST@',
      replicaOf: '@REPLICAOF@',
      auth,
    }),
    'sentinel.conf': renderSentinel({
      bindAddress: '0.0.0.0',
      port: kubernetes.sentinelPort,
      dataDir: '/data',
      announceHost: '@ANNOUNCE_HOST@',
      primaryHost: `redis-0.${svc(kubernetes.redisHeadless)}`,
      primaryPort: kubernetes.redisPort,
      auth: `sentinel auth-pass ${REDIS.masterName} @REDIS_PASSWORD@`,
    }),
  };
}

function main(): void {
  const mode = process.argv[2];
  if (mode !== '--write' && mode !== '--check') {
    console.error('usage: node stack/render.ts --write|--check');
    process.exit(2);
  }
  const stale: string[] = [];
  for (const [name, text] of Object.entries(kubernetesConfigs())) {
    const file = path.join(KUBERNETES_CONFIG_DIR, name);
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (current === text) continue;
    if (mode === '--write') {
      mkdirSync(KUBERNETES_CONFIG_DIR, { recursive: true });
      writeFileSync(file, text);
    }
    stale.push(path.relative(ROOT, file));
  }
  if (mode === '--check' && stale.length > 0) {
    console.error(`stale generated files (run npm run stack:render): ${stale.join(', ')}`);
    process.exit(1);
  }
  if (mode === '--write') console.log(stale.length ? `wrote ${stale.join(', ')}` : 'up to date');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
