/**
 * Runs the test agent as a process (used by scripts/up.sh until the real agent pools exist).
 * Env: PORT, REDIS_URL, POOL (git|llm|obsidian), INSTANCE_ID, LOG_LEVEL.
 */
import type { AgentPool } from '../../services/kit/agent-contract.ts';
import { startTestAgent } from './test-agent.ts';

const agent = await startTestAgent({
  pool: (process.env.POOL ?? 'git') as AgentPool,
  port: Number(process.env.PORT ?? 0),
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  ...(process.env.INSTANCE_ID ? { instance: process.env.INSTANCE_ID } : {}),
  env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', SHUTDOWN_DRAIN_DELAY_MS: '0' },
});
agent.service.installSignalHandlers();
