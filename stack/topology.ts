/**
 * Every process of the local stack, in start order: the seed's topology (load balancer, three master
 * orchestrators, three agent pools, Redis with Sentinel) plus what watches it (exporters, Prometheus,
 * Alertmanager with a recording receiver, Pushgateway) and what stands in for what cannot run here
 * (the LLM provider simulator, a Service proxy for the agent pools).
 */
import path from 'node:path';
import { cpuCores, memoryBytes, RESOURCES } from '../platform/limits.ts';
import { ORCHESTRATOR } from '../platform/workloads.ts';
import { HOST, ROOT, type Layout } from './layout.ts';
import { apiKey, checkoutCommit, confFile, lbMasterSocket, pools, readSharedEnv } from './local-configs.ts';
import type { ProcessSpec } from './supervisor.ts';

/** The seed's per-instance limits, reported by the services as if set by Kubernetes. */
const limits = (l: { cpu: string; memory: string }) => ({
  CPU_LIMIT: String(cpuCores(l.cpu)),
  MEMORY_LIMIT: String(memoryBytes(l.memory)),
});
export const SIMULATOR_API_KEY = 'local-simulator-key';

const health = (port: number, p = '/health') => ({
  type: 'http' as const,
  url: `http://${HOST}:${port}${p}`,
});

export function processSpecs(l: Layout, node = process.execPath): ProcessSpec[] {
  const shared = { ...readSharedEnv(), GIT_COMMIT: checkoutCommit() };
  const sentinels = l.ports.sentinel.map((p) => `${HOST}:${p}`).join(',');
  const service = (
    name: string,
    role: string,
    entry: string,
    port: number,
    stage: number,
    env: Record<string, string>,
  ): ProcessSpec => ({
    name,
    role,
    port,
    stage,
    command: node,
    args: [path.join(ROOT, entry)],
    env: { ...shared, HOST, PORT: String(port), INSTANCE_ID: name, REDIS_SENTINELS: sentinels, ...env },
    health: health(port),
    stopTimeoutMs: 40000,
  });
  const specs: ProcessSpec[] = [];

  l.ports.redis.forEach((port, i) =>
    specs.push({
      name: `redis-${i + 1}`,
      role: 'redis',
      port,
      stage: i === 0 ? 1 : 2,
      command: 'redis-server',
      args: [confFile(l, `redis-${i + 1}.conf`)],
      health: { type: 'redis', port },
    }),
  );
  l.ports.sentinel.forEach((port, i) =>
    specs.push({
      name: `sentinel-${i + 1}`,
      role: 'sentinel',
      port,
      stage: 3,
      command: 'redis-sentinel',
      args: [confFile(l, `sentinel-${i + 1}.conf`)],
      health: { type: 'redis', port },
    }),
  );
  l.ports.redisExporter.forEach((port, i) =>
    specs.push({
      name: `redis-exporter-${i + 1}`,
      role: 'redis-exporter',
      port,
      stage: 4,
      command: 'prometheus-redis-exporter',
      args: [
        `--redis.addr=redis://${HOST}:${l.ports.redis[i]}`,
        `--web.listen-address=${HOST}:${port}`,
        '--log-format=json',
      ],
      health: health(port, '/metrics'),
    }),
  );
  specs.push({
    name: 'sentinel-exporter',
    role: 'redis-exporter',
    port: l.ports.sentinelExporter,
    stage: 4,
    command: 'prometheus-redis-exporter',
    args: [`--web.listen-address=${HOST}:${l.ports.sentinelExporter}`, '--log-format=json'],
    health: health(l.ports.sentinelExporter, '/health'),
  });
  l.ports.llmSimulator.forEach((port, i) =>
    specs.push({
      name: `llm-simulator-${i + 1}`,
      role: 'llm-simulator',
      port,
      stage: 4,
      command: node,
      args: [path.join(ROOT, 'load/llm-simulator/main.ts')],
      env: {
        PORT: String(port),
        SIM_NAME: `llm-simulator-${i + 1}`,
        SIM_MODELS: 'sim-small,sim-large',
        SIM_API_KEY: SIMULATOR_API_KEY,
        SIM_LATENCY_DISTRIBUTION: 'uniform',
        SIM_LATENCY_MIN_MS: '20',
        SIM_LATENCY_MAX_MS: '60',
      },
      health: health(port, '/admin/behaviour'),
    }),
  );
  specs.push({
    name: 'alert-receiver',
    role: 'alert-receiver',
    port: l.ports.alertReceiver,
    stage: 4,
    command: node,
    args: [path.join(ROOT, 'stack/alert-receiver.ts')],
    env: { PORT: String(l.ports.alertReceiver), RECEIVER_FILE: l.notificationsFile },
    health: health(l.ports.alertReceiver, '/health'),
  });
  specs.push({
    name: 'alertmanager',
    role: 'alertmanager',
    port: l.ports.alertmanager,
    stage: 5,
    command: 'prometheus-alertmanager',
    args: [
      `--config.file=${confFile(l, 'alertmanager.yml')}`,
      `--storage.path=${path.join(l.data, 'alertmanager')}`,
      `--web.listen-address=${HOST}:${l.ports.alertmanager}`,
      '--cluster.listen-address=',
      '--log.format=json',
    ],
    health: health(l.ports.alertmanager, '/-/ready'),
  });
  specs.push({
    name: 'pushgateway',
    role: 'pushgateway',
    port: l.ports.pushgateway,
    stage: 4,
    command: 'prometheus-pushgateway',
    args: [`--web.listen-address=${HOST}:${l.ports.pushgateway}`, '--log.format=json'],
    health: health(l.ports.pushgateway, '/-/ready'),
  });

  const providers = JSON.stringify(
    l.ports.llmSimulator.map((port, i) => ({
      name: `sim-${String.fromCharCode(97 + i)}`,
      type: 'openai',
      base_url: `http://${HOST}:${port}/v1`,
      api_key_env: 'SIM_PROVIDER_KEY',
      models: ['sim-small', 'sim-large'],
      weight: i === 0 ? 3 : 1,
    })),
  );
  const agentEnv: Record<string, Record<string, string>> = {
    git: { GIT_REPOS_ROOT: path.join(l.data, 'repos') },
    obsidian: { OBSIDIAN_VAULT_PATH: path.join(l.data, 'vault') },
    llm: { LLM_PROVIDERS: providers, SIM_PROVIDER_KEY: SIMULATOR_API_KEY },
  };
  for (const p of pools(l)) {
    p.members.forEach((port, i) =>
      specs.push(
        service(`${p.service}-${i + 1}`, p.service, p.entry, port, 6, {
          ...limits(RESOURCES.agent.limits),
          AGENT_ADVERTISE_URL: `http://${HOST}:${port}`,
          ...agentEnv[p.pool],
        }),
      ),
    );
  }
  specs.push({
    name: 'services-proxy',
    role: 'services-proxy',
    port: l.ports.servicesProxyStats,
    stage: 7,
    command: 'haproxy',
    args: ['-W', '-f', confFile(l, 'services-proxy.cfg'), '-p', path.join(l.run, 'services-proxy.pid')],
    health: health(l.ports.servicesProxyStats, '/healthz'),
    stopSignal: 'SIGUSR1',
  });
  const key = apiKey(l);
  l.ports.orchestrator.forEach((port, i) =>
    specs.push(
      service(`orchestrator-${i + 1}`, 'orchestrator', ORCHESTRATOR.entry, port, 8, {
        ...limits(RESOURCES.orchestrator.limits),
        API_KEYS: key,
        ...Object.fromEntries(pools(l).map((p) => [p.urlEnv, `http://${HOST}:${p.port}`])),
      }),
    ),
  );
  specs.push({
    name: 'load-balancer',
    role: 'load-balancer',
    port: l.ports.lbHttps,
    stage: 9,
    command: 'haproxy',
    args: [
      '-W',
      '-f',
      confFile(l, 'haproxy.cfg'),
      '-p',
      path.join(l.run, 'load-balancer.pid'),
      '-S',
      lbMasterSocket(l),
    ],
    health: health(l.ports.lbStats, '/healthz'),
    stopSignal: 'SIGUSR1',
  });
  specs.push({
    name: 'prometheus',
    role: 'prometheus',
    port: l.ports.prometheus,
    stage: 10,
    command: 'prometheus',
    args: [
      `--config.file=${confFile(l, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(l.data, 'prometheus')}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=${HOST}:${l.ports.prometheus}`,
      '--web.enable-lifecycle',
      '--log.format=json',
    ],
    health: health(l.ports.prometheus, '/-/ready'),
  });
  return specs.sort((a, b) => a.stage - b.stage);
}
