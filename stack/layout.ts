/**
 * The local stack's shape: how many of each process, which port each listens on, where its files
 * live. Every port is an offset from one base (PHOENIX_PORT_BASE), away from well-known ports, so a
 * machine that already runs Redis on 6379 or Prometheus on 9090 is not disturbed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AGENT_POOLS, type AgentPool } from '../platform/pools.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const count = (fallback: number) => z.coerce.number().int().min(1).max(9).default(fallback);

const optionsSchema = z.object({
  PHOENIX_PORT_BASE: z.coerce.number().int().min(1024).max(65000).default(17400),
  PHOENIX_STACK_DIR: z.string().min(1).default(path.join(ROOT, '.stack')),
  PHOENIX_ORCHESTRATORS: count(3),
  PHOENIX_GIT_AGENTS: count(2),
  PHOENIX_LLM_ROUTERS: count(2),
  PHOENIX_OBSIDIAN_AGENTS: count(2),
});

/** The setting with each pool's instance count. */
const POOL_COUNT = {
  git: 'PHOENIX_GIT_AGENTS',
  llm: 'PHOENIX_LLM_ROUTERS',
  obsidian: 'PHOENIX_OBSIDIAN_AGENTS',
} as const satisfies Record<AgentPool, keyof z.infer<typeof optionsSchema>>;

export type StackOptions = z.infer<typeof optionsSchema>;

export function loadOptions(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const parsed = optionsSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`bad stack settings: ${issues}`);
  }
  return parsed.data;
}

/** Port offsets from the base. Counted kinds take consecutive ports from their offset (at most 9). */
const OFFSET = {
  redis: 0,
  sentinel: 5,
  orchestrator: 10,
  /** Each pool's instances. */
  agents: { git: 20, obsidian: 30, llm: 40 },
  llmSimulator: 50,
  lbHttps: 60,
  lbStats: 61,
  lbPeer: 62,
  servicesProxyStats: 63,
  /** Each pool's Service stand-in on the services proxy. */
  pool: { git: 64, obsidian: 65, llm: 66 },
  redisExporter: 70,
  sentinelExporter: 75,
  prometheus: 80,
  alertmanager: 81,
  pushgateway: 82,
  alertReceiver: 83,
} as const;

export const REDIS_COUNT = 3;
export const SENTINEL_COUNT = 3;
export const SIMULATOR_COUNT = 2;
/** Each node's index, 1-based, as used in process names (`orchestrator-2`). */
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

const byPool = <T>(fn: (pool: AgentPool) => T) =>
  Object.fromEntries(AGENT_POOLS.map((p) => [p, fn(p)])) as Record<AgentPool, T>;

export function layout(o: StackOptions) {
  const port = (offset: number, index = 1) => o.PHOENIX_PORT_BASE + offset + index - 1;
  const dir = o.PHOENIX_STACK_DIR;
  return {
    options: o,
    dir,
    logs: path.join(dir, 'logs'),
    run: path.join(dir, 'run'),
    conf: path.join(dir, 'conf'),
    data: path.join(dir, 'data'),
    tls: path.join(dir, 'tls'),
    stateFile: path.join(dir, 'run', 'stack.json'),
    lockFile: path.join(dir, 'run', 'stack.lock'),
    apiKeyFile: path.join(dir, 'api-key'),
    notificationsFile: path.join(dir, 'data', 'alert-receiver', 'notifications.jsonl'),
    faultLog: path.join(dir, 'logs', 'faults.jsonl'),
    ports: {
      redis: range(REDIS_COUNT).map((i) => port(OFFSET.redis, i)),
      sentinel: range(SENTINEL_COUNT).map((i) => port(OFFSET.sentinel, i)),
      orchestrator: range(o.PHOENIX_ORCHESTRATORS).map((i) => port(OFFSET.orchestrator, i)),
      agents: byPool((p) => range(o[POOL_COUNT[p]]).map((i) => port(OFFSET.agents[p], i))),
      llmSimulator: range(SIMULATOR_COUNT).map((i) => port(OFFSET.llmSimulator, i)),
      redisExporter: range(REDIS_COUNT).map((i) => port(OFFSET.redisExporter, i)),
      sentinelExporter: port(OFFSET.sentinelExporter),
      lbHttps: port(OFFSET.lbHttps),
      lbStats: port(OFFSET.lbStats),
      lbPeer: port(OFFSET.lbPeer),
      servicesProxyStats: port(OFFSET.servicesProxyStats),
      pool: byPool((p) => port(OFFSET.pool[p])),
      prometheus: port(OFFSET.prometheus),
      alertmanager: port(OFFSET.alertmanager),
      pushgateway: port(OFFSET.pushgateway),
      alertReceiver: port(OFFSET.alertReceiver),
    },
  };
}

export type Layout = ReturnType<typeof layout>;
export const HOST = '127.0.0.1';
