import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './keys.ts';

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
