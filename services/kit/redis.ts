import { Redis, type RedisOptions } from 'ioredis';
import type { BaseConfig } from './config.ts';
import type { Logger } from './logger.ts';

export type { Redis };

export type RedisRole =
  /** Ordinary commands: fail fast while disconnected so a request falls back to uncached work instead of waiting. */
  | 'command'
  /** Pub/sub: queues SUBSCRIBE until connected and resubscribes after every reconnect or failover. */
  | 'subscriber'
  /** Blocking reads (XREADGROUP BLOCK): a connection of its own, so a blocked read never delays other commands. */
  | 'blocking'
  /** Writes that must not be applied twice: a command cut off by a disconnect fails instead of being resent. */
  | 'no-resend';

const RETRY_CAP_MS = 1000;

/**
 * An ioredis connection: one URL in development, or Sentinels plus a master name in production.
 * The options are the ones that survive a failover: the failover detector follows a promoted replica at
 * once, reconnects back off to at most one second, and a READONLY reply (we were talking to a demoted
 * primary) forces a reconnect that asks the Sentinels for the new primary.
 */
export function createRedis(config: BaseConfig, role: RedisRole, log: Logger, name: string): Redis {
  const common: RedisOptions = {
    connectionName: `${name}:${role}`,
    password: config.REDIS_PASSWORD,
    connectTimeout: 2000,
    commandTimeout:
      role === 'blocking' || role === 'subscriber' ? undefined : config.REDIS_COMMAND_TIMEOUT_MS,
    // ioredis resubscribes after a reconnect without handling a failure of that SUBSCRIBE, which
    // surfaces as an unhandled rejection; the kit resubscribes itself (subscribeChannel).
    autoResubscribe: false,
    maxRetriesPerRequest: role === 'command' ? 1 : null,
    enableOfflineQueue: role === 'subscriber',
    autoResendUnfulfilledCommands: role !== 'no-resend',
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), RETRY_CAP_MS),
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  const redis = config.REDIS_SENTINELS
    ? new Redis({
        ...common,
        sentinels: config.REDIS_SENTINELS,
        name: config.REDIS_MASTER_NAME,
        sentinelPassword: config.REDIS_SENTINEL_PASSWORD,
        sentinelRetryStrategy: (times) => Math.min(100 * times, RETRY_CAP_MS),
        sentinelCommandTimeout: 1000,
        failoverDetector: true,
        updateSentinels: true,
      })
    : new Redis(config.REDIS_URL ?? 'redis://127.0.0.1:6379', common);

  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis emits the same error on every reconnect attempt; log each distinct one once.
    if (err.message !== lastError) log.warn({ err: err.message, role }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
    log.info({ role }, 'redis ready');
  });
  if (role === 'subscriber') {
    redis.on('ready', () => {
      for (const channel of subscriptions.get(redis) ?? []) redis.subscribe(channel).catch(() => undefined);
    });
  }
  // ioredis gives up for good ('end') when its failover detector disconnects while a reconnect through
  // the Sentinels is in flight. Only closeRedis() may end a connection: anything else is restarted.
  redis.on('end', () => {
    if (closing.has(redis)) return;
    log.warn({ role }, 'redis connection ended unexpectedly; reconnecting');
    const timer = setTimeout(() => {
      if (!closing.has(redis) && redis.status === 'end') redis.connect().catch(() => undefined);
    }, RETRY_CAP_MS);
    timer.unref();
  });
  return redis;
}

const closing = new WeakSet<Redis>();
const subscriptions = new WeakMap<Redis, Set<string>>();

/** Subscribes `subscriber` to `channel` now (if connected) and again after every reconnect. */
export async function subscribeChannel(subscriber: Redis, channel: string): Promise<void> {
  const channels = subscriptions.get(subscriber) ?? new Set<string>();
  subscriptions.set(subscriber, channels);
  channels.add(channel);
  if (subscriber.status === 'ready') await subscriber.subscribe(channel).catch(() => undefined);
}

/** Resolves once `redis` is ready, or after `timeoutMs` (it keeps reconnecting in the background either way). */
export function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** Closes politely, or hard when the server is unreachable (QUIT would wait for a reconnect). */
export async function closeRedis(redis: Redis): Promise<void> {
  closing.add(redis);
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      redis.quit().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
  }
  // After a QUIT the stream is closed; disconnect() would then arm a 2 s timer that nothing clears.
  if (redis.status !== 'end') redis.disconnect();
}
