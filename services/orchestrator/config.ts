import { z } from 'zod';
import { POOLS, type AgentPool } from '../../platform/pools.ts';
import { PORTS } from '../../platform/ports.ts';
import { breakerConfig } from '../kit/breaker.ts';
import { baseConfigSchema, commaList, int, loadConfig } from '../kit/config.ts';
import { heartbeatSettings } from '../kit/heartbeat.ts';

const agentUrl = z.url({ protocol: /^https?$/ }).optional();

export const orchestratorConfigSchema = baseConfigSchema.extend({
  PORT: int(PORTS.orchestrator, 0, 65535).describe('Orchestrator HTTP port.'),
  API_KEYS: commaList(16).describe(
    'Comma-separated API keys accepted as `Authorization: Bearer <key>` on `/v1` (each 16+ characters; from a Secret). Required.',
  ),
  AGENT_GIT_URL: agentUrl.describe('Base URL of the git agent pool (its Service).'),
  AGENT_LLM_URL: agentUrl.describe('Base URL of the LLM router pool.'),
  AGENT_OBSIDIAN_URL: agentUrl.describe('Base URL of the Obsidian agent pool.'),
  AGENT_TIMEOUT_MS: int(10000, 10, 600000).describe('Timeout of one agent call.'),
  ...breakerConfig('', 'each agent pool'),
  ACTIONS_REFRESH_MS: int(30000, 500, 3600000).describe(
    'How often each pool\u2019s action catalogue (`GET /v1/actions`) is refreshed.',
  ),
  POOL_HEALTH_POLL_MS: int(2000, 100, 60000).describe(
    'How often the shared agent health is read from Redis.',
  ),
  HEARTBEAT_TTL_MS: heartbeatSettings.HEARTBEAT_TTL_MS,
  CACHE_MAX_TTL_SECONDS: int(86400, 1, 30 * 86400).describe('Upper bound on any cached answer\u2019s TTL.'),
  CACHE_LOCAL_MAX_ENTRIES: int(10000, 0, 10000000).describe(
    'Answers kept in each instance\u2019s memory in front of Redis (0 turns the memory tier off).',
  ),
  CACHE_LOCAL_MAX_BYTES: int(64 * 1048576, 0, 4096 * 1048576).describe(
    'Bytes of answers kept in memory (as the JavaScript heap holds them: two per character beyond Latin-1).',
  ),
  CACHE_KEY_MEMO_MAX_BYTES: int(4 * 1048576, 0, 1024 * 1048576).describe(
    'Bytes of task inputs remembered with their cache keys, so a repeated input is not hashed again (0: off).',
  ),
  CACHE_MAX_STALE_SECONDS: int(86400, 0, 30 * 86400).describe(
    'Upper bound on how old an answer served `X-Cache: STALE` may be when its pool fails (each action declares its own; 0 turns stale answers off).',
  ),
  VERSIONS_MAX_SILENCE_MS: int(1000, 100, 600000).describe(
    'Versions pushed by a pool\u2019s agents are used while one of them was heard from within this time; otherwise tasks ask the agent (`/resolve`). Bounds how late a moved version is seen if the agents stop publishing.',
  ),
  VERSIONS_MAX_BYTES: int(32 * 1048576, 0, 4096 * 1048576).describe(
    'Memory for one pool\u2019s pushed versions; a larger map is not used (tasks ask the agent). 0 turns pushed versions off.',
  ),
  CACHE_LOCAL_MAX_AGE_MS: int(5000, 0, 3600000).describe(
    'Longest an answer is served from memory without asking Redis; bounds staleness if an invalidation is missed.',
  ),
  SINGLE_FLIGHT_WAIT_MS: int(15000, 10, 600000).describe(
    'How long a request waits for another instance computing the same answer before computing it itself.',
  ),
  SESSION_TTL_SECONDS: int(86400, 60, 30 * 86400).describe('Session lifetime after its last write.'),
  SESSION_MAX_TURNS: int(50, 1, 1000).describe('Turns kept per session (oldest dropped first).'),
  SESSION_MAX_BYTES: int(262144, 1024, 16 * 1048576).describe(
    'Largest stored session; a write beyond is 413.',
  ),
  SESSION_REPLICA_ACKS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10)
    .optional()
    .describe(
      'Replicas that must confirm a session write (Redis WAIT) before it is acknowledged; unconfirmed writes answer 503. Default 1 with Sentinels, 0 with a single Redis.',
    ),
  TASK_RESULT_TTL_SECONDS: int(3600, 10, 7 * 86400).describe(
    'How long an async task and its result are kept.',
  ),
  TASK_CLAIM_IDLE_MS: int(15000, 100, 3600000).describe(
    'A running async task whose instance has not renewed its claim for this long (the instance died) is taken over by another.',
  ),
  TASK_MAX_ATTEMPTS: int(3, 1, 20).describe('Attempts before an async task is stored as failed.'),
  TASK_WORKER_CONCURRENCY: int(8, 1, 1000).describe('Async tasks one instance runs at once.'),
  TASK_QUEUE_MAX_LENGTH: int(10000, 1, 10000000).describe(
    'Pending async tasks per pool before new ones get 503.',
  ),
});

export type OrchestratorConfig = z.infer<typeof orchestratorConfigSchema>;

/** The configured base URL of one agent pool, if any. */
export const poolUrl = (config: OrchestratorConfig, pool: AgentPool): string | undefined =>
  config[POOLS[pool].urlEnv];

export function loadOrchestratorConfig(env: NodeJS.ProcessEnv = process.env): OrchestratorConfig {
  return loadConfig(orchestratorConfigSchema, env);
}
