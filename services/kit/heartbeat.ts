import { HEARTBEAT } from '../../platform/limits.ts';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import { int } from './config.ts';
import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';

/**
 * Agent heartbeats in Redis, both sides: agents write them (`startHeartbeat`), orchestrators read a
 * pool's live and healthy instances from them (`readPoolHealth`). Both read the same TTL setting.
 */

/** The settings: agents read both, orchestrators the TTL. */
export const heartbeatSettings = {
  HEARTBEAT_INTERVAL_MS: int(HEARTBEAT.intervalMs, 100, 60000).describe(
    'How often an agent reports its health to Redis.',
  ),
  HEARTBEAT_TTL_MS: int(HEARTBEAT.ttlMs, 300, 600000).describe(
    'How long one agent heartbeat stays valid: an agent whose last heartbeat is older counts as gone.',
  ),
};

export interface AgentHealthReport {
  status: 'ok' | 'degraded' | 'draining';
  instance: string;
  /** Where this instance serves, for people reading the shared view. */
  url?: string;
  at: number;
  detail?: Record<string, unknown>;
}

/**
 * An agent instance's heartbeat: every `intervalMs` it records itself in its pool's sorted set and
 * writes its health under a key that expires after `ttlMs`, so a dead instance drops out by itself.
 * `stop()` removes the instance at once, so a draining instance leaves the shared view immediately.
 */
export function startHeartbeat(opts: {
  redis: Redis;
  keys: RedisKeys;
  pool: string;
  instance: string;
  intervalMs: number;
  ttlMs: number;
  report: () => Omit<AgentHealthReport, 'instance' | 'at'>;
  log: Logger;
}): { beat: () => Promise<void>; stop: () => Promise<void> } {
  const { redis, keys, pool, instance, ttlMs, log } = opts;
  const setKey = keys.agentInstances(pool);
  const healthKey = keys.agentHealth(pool, instance);
  let failing = false;

  const beat = async () => {
    if (redis.status !== 'ready') return;
    const now = Date.now();
    const report: AgentHealthReport = { ...opts.report(), instance, at: now };
    try {
      await redis
        .multi()
        .zadd(setKey, now, instance)
        .set(healthKey, JSON.stringify(report), 'PX', ttlMs)
        .zremrangebyscore(setKey, '-inf', now - 10 * ttlMs)
        .exec();
      if (failing) log.info('heartbeat restored');
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err: (err as Error).message }, 'heartbeat failed');
      failing = true;
    }
  };

  const timer = setInterval(() => void beat(), opts.intervalMs);
  timer.unref();
  const onReady = () => void beat();
  redis.on('ready', onReady);
  void beat();

  return {
    beat,
    stop: async () => {
      clearInterval(timer);
      redis.off('ready', onReady);
      if (redis.status !== 'ready') return;
      await redis
        .multi()
        .zrem(setKey, instance)
        .del(healthKey)
        .exec()
        .catch(() => undefined);
    },
  };
}

/**
 * A pool's instances seen within `ttlMs` (their heartbeats), and how many of them last reported `ok`.
 * Throws what Redis throws.
 */
export async function readPoolHealth(
  redis: Redis,
  keys: RedisKeys,
  pool: string,
  ttlMs: number,
): Promise<{ instances: number; healthy: number }> {
  const instances = await redis.zrangebyscore(keys.agentInstances(pool), Date.now() - ttlMs, '+inf');
  if (instances.length === 0) return { instances: 0, healthy: 0 };
  const reports = await redis.mget(...instances.map((i) => keys.agentHealth(pool, i)));
  let healthy = 0;
  for (const raw of reports) {
    if (raw && (JSON.parse(raw) as AgentHealthReport).status === 'ok') healthy += 1;
  }
  return { instances: instances.length, healthy };
}
