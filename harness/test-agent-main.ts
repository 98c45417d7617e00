/**
 * Runs the test agent as a process of its own, for tests that need an agent they can limit or kill.
 * Env: PORT, REDIS_URL, POOL (git|llm|obsidian), INSTANCE_ID, LOG_LEVEL.
 */
import type { AgentPool } from '../platform/pools.ts';
import { startTestAgent } from './test-agent.ts';

const agent = await startTestAgent({
  pool: (process.env.POOL ?? 'git') as AgentPool,
  port: Number(process.env.PORT ?? 0),
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  ...(process.env.INSTANCE_ID ? { instance: process.env.INSTANCE_ID } : {}),
  env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', SHUTDOWN_DRAIN_DELAY_MS: '0' },
});
agent.service.installSignalHandlers();
