/**
 * The setup of the `through-orchestrator` tests: a redis-server, one agent pool's service and an
 * orchestrator, each its own process as production runs them (so their log lines can be checked),
 * the orchestrator pointed at the agent and both on the same Redis.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { POOLS, type AgentPool } from '../../platform/pools.ts';
import { task } from './orchestrator.ts';
import { spawnOrchestrator, spawnService, type ServiceProcess } from './process.ts';

export interface ThroughOrchestrator {
  redis: RedisServer;
  agent: ServiceProcess;
  orchestrator: ServiceProcess;
  /** POST /v1/tasks to the orchestrator for this pool, with a correlation id. */
  task(body: { action: string; input: unknown }, correlationId: string): ReturnType<typeof task>;
  /** Whether both processes have logged a line with the correlation id (logs arrive in batches: waits up to 2 s). */
  loggedByBoth(correlationId: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** The agent of `pool` is named `<service>-under-test` (its heartbeat key names it). */
export async function startThroughOrchestrator(
  pool: AgentPool,
  agentEnv: Record<string, string>,
): Promise<ThroughOrchestrator> {
  const { service, entry, urlEnv } = POOLS[pool];
  const redis = await startRedis();
  const started: ServiceProcess[] = [];
  const stop = async () => {
    for (const p of started.reverse()) {
      p.kill('SIGTERM');
      await p.exited;
    }
    await redis.close();
  };
  try {
    const agent = await spawnService(
      entry,
      {
        REDIS_URL: redis.url,
        INSTANCE_ID: `${service}-under-test`,
        SHUTDOWN_DRAIN_DELAY_MS: '0',
        HEARTBEAT_INTERVAL_MS: '200',
        HEARTBEAT_TTL_MS: '1000',
        ...agentEnv,
      },
      'agent listening',
    );
    started.push(agent);
    const orchestrator = await spawnOrchestrator({
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      REDIS_URL: redis.url,
      [urlEnv]: agent.url,
      AGENT_TIMEOUT_MS: '5000',
    });
    started.push(orchestrator);
    const logged = (p: ServiceProcess, id: string) => p.logs.some((l) => l.correlation_id === id);
    return {
      redis,
      agent,
      orchestrator,
      task: (body, correlationId) =>
        task(orchestrator.url, { agent: pool, ...body }, { 'X-Correlation-ID': correlationId }),
      async loggedByBoth(id) {
        for (let i = 0; i < 40 && !(logged(agent, id) && logged(orchestrator, id)); i += 1) await sleep(50);
        return logged(agent, id) && logged(orchestrator, id);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
