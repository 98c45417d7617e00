import canonicalize from 'canonicalize';
import { hash as digest, randomUUID } from 'node:crypto';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import type { Logger } from '../kit/logger.ts';
import { Problem, type ProblemBody } from '../kit/problem.ts';
import { subscribeChannel, type Redis } from '../kit/redis.ts';
import type { OrchestratorConfig } from './config.ts';
import { LocalCache } from './local-cache.ts';
import type { OrchestratorMetrics } from './metrics.ts';

export type CacheResult = 'HIT' | 'MISS' | 'BYPASS';

/** An answer as JSON text: answers move between Redis, memory and the response without re-parsing. */
export interface Answer {
  outputJson: string;
  cache: CacheResult;
}

/** An agent's answer, and whether it may be stored under the key it was asked for. */
export interface Computed {
  output: unknown;
  storable: boolean;
}

/** Runs the agent. */
export type Compute = () => Promise<Computed>;

const serialize = (output: unknown): string => JSON.stringify(output) ?? 'null';

/** Stored in Redis as `<expiry ms>:<output JSON>`, so the local tier knows when the answer lapses. */
const encode = (outputJson: string, expiresAt: number) => `${expiresAt}:${outputJson}`;
function decode(value: string): { outputJson: string; expiresAt: number } {
  const colon = value.indexOf(':');
  return { expiresAt: Number(value.slice(0, colon)), outputJson: value.slice(colon + 1) };
}

/** Everything that changes an agent's answer. Key order inside `input` does not matter. */
export interface CacheKeyParts {
  pool: string;
  action: string;
  input: unknown;
  /** The version an action's `/resolve` reported (a commit SHA, a note's version). */
  version?: string;
  /** The session's id and version, for tasks that pass session history to the agent. */
  session?: { id: string; version: number };
}

const KEY_SCHEMA_VERSION = 2;
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;
const LEADER_ERROR_TTL_MS = 2000;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

const KEY_MEMO_SIZE = 4096;
const keyMemo = new Map<string, string>();

/**
 * SHA-256 of the canonical JSON (RFC 8785) of the parts. Hot inputs arrive again and again with the
 * same text, so the last few thousand keys are remembered by their plain JSON text.
 */
export function cacheKey(parts: CacheKeyParts): string {
  const text = JSON.stringify(parts);
  const known = keyMemo.get(text);
  if (known !== undefined) return known;
  const key = digest('sha256', canonicalize({ v: KEY_SCHEMA_VERSION, ...parts }) ?? '', 'hex');
  if (keyMemo.size >= KEY_MEMO_SIZE) keyMemo.delete(keyMemo.keys().next().value as string);
  keyMemo.set(text, key);
  return key;
}

/**
 * The task cache: Redis shared by every instance, with a small in-process tier in front for answers
 * served in the last few seconds, and single flight across every instance: the first instance to miss
 * takes a lock in Redis and computes; the others wait (bounded) for its answer, woken by pub/sub with
 * polling as a fallback, and serve it as a HIT. If Redis is unavailable every call computes, uncached.
 */
export class TaskCache {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly inflight = new Map<string, Promise<{ outputJson: string; computedHere: boolean }>>();
  private readonly memory: LocalCache;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly keys: RedisKeys;
  private readonly config: OrchestratorConfig;
  private readonly metrics: OrchestratorMetrics;
  private readonly log: Logger;

  constructor(deps: {
    redis: Redis;
    subscriber: Redis;
    keys: RedisKeys;
    config: OrchestratorConfig;
    metrics: OrchestratorMetrics;
    log: Logger;
  }) {
    this.redis = deps.redis;
    this.subscriber = deps.subscriber;
    this.keys = deps.keys;
    this.config = deps.config;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.memory = new LocalCache({
      maxEntries: deps.config.CACHE_LOCAL_MAX_ENTRIES,
      maxBytes: deps.config.CACHE_LOCAL_MAX_BYTES,
      maxAgeMs: deps.config.CACHE_LOCAL_MAX_AGE_MS,
    });
  }

  async start(): Promise<void> {
    // One channel both wakes single-flight waiters and drops a key from every instance's memory tier
    // (published when an answer is computed or refreshed).
    this.subscriber.on('message', (channel: string, hash: string) => {
      if (channel !== this.keys.flightChannel) return;
      this.memory.delete(hash);
      this.wake(hash);
    });
    await subscribeChannel(this.subscriber, this.keys.flightChannel);
  }

  get available(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Answers from the cache, or computes once across all instances and stores the answer for
   * `ttlSeconds`. Returns HIT when the answer was computed by someone else.
   */
  async getOrCompute(pool: string, hash: string, ttlSeconds: number, compute: Compute): Promise<Answer> {
    if (!this.available) return this.bypass(pool, compute, 'bypass');
    const remembered = this.memory.get(hash);
    if (remembered !== undefined) {
      this.metrics.cacheLookups.inc({ pool, result: 'hit' });
      this.metrics.cacheLocalHits.inc();
      return { outputJson: remembered, cache: 'HIT' };
    }
    let cached: string | undefined;
    try {
      cached = await this.read(hash);
    } catch {
      return this.bypass(pool, compute, 'error');
    }
    if (cached !== undefined) {
      this.metrics.cacheLookups.inc({ pool, result: 'hit' });
      return { outputJson: cached, cache: 'HIT' };
    }
    this.metrics.cacheLookups.inc({ pool, result: 'miss' });
    let shared = this.inflight.get(hash);
    let first = false;
    if (!shared) {
      first = true;
      shared = this.flight(hash, ttlSeconds, compute).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, shared);
    }
    const { outputJson, computedHere } = await shared;
    return { outputJson, cache: first && computedHere ? 'MISS' : 'HIT' };
  }

  /** Recomputes and overwrites the stored answer everywhere (`cache: "refresh"`). */
  async refresh(pool: string, hash: string, ttlSeconds: number, compute: Compute): Promise<Answer> {
    const computed = await compute();
    const outputJson = serialize(computed.output);
    this.metrics.cacheLookups.inc({ pool, result: 'miss' });
    if (this.storable(computed)) await this.write(hash, outputJson, ttlSeconds).catch(() => undefined);
    await this.redis.publish(this.keys.flightChannel, hash).catch(() => undefined);
    return { outputJson, cache: 'MISS' };
  }

  async bypass(pool: string, compute: Compute, result: 'bypass' | 'error' = 'bypass'): Promise<Answer> {
    this.metrics.cacheLookups.inc({ pool, result });
    return { outputJson: serialize((await compute()).output), cache: 'BYPASS' };
  }

  private async flight(hash: string, ttlSeconds: number, compute: Compute) {
    const deadline = Date.now() + this.config.SINGLE_FLIGHT_WAIT_MS;
    // The leader's work is one agent call, bounded by AGENT_TIMEOUT_MS; a dead leader's lock lapses soon after.
    const lockMs = this.config.AGENT_TIMEOUT_MS + 2000;
    let waited = false;
    while (Date.now() < deadline) {
      const token = randomUUID();
      let acquired: boolean;
      try {
        acquired = (await this.redis.set(this.keys.flightLock(hash), token, 'PX', lockMs, 'NX')) === 'OK';
      } catch {
        // Redis failed under us: answer uncached rather than fail the request.
        this.metrics.redisErrors.inc({ operation: 'flight_lock' });
        return { outputJson: serialize((await compute()).output), computedHere: true };
      }
      if (acquired)
        return { outputJson: await this.lead(hash, token, ttlSeconds, compute), computedHere: !waited };
      waited = true;
      const outcome = await this.follow(hash, deadline);
      if (outcome.kind === 'answer') {
        this.metrics.singleFlightWaits.inc({ outcome: 'answer' });
        return { outputJson: outcome.outputJson, computedHere: false };
      }
      if (outcome.kind === 'error') {
        this.metrics.singleFlightWaits.inc({ outcome: 'error' });
        throw outcome.problem;
      }
      // The leader vanished without an answer (it died, or Redis lost the lock): try to lead.
    }
    this.metrics.singleFlightWaits.inc({ outcome: 'timeout' });
    this.log.warn({ hash }, 'single-flight wait timed out; computing without the lock');
    return { outputJson: serialize((await compute()).output), computedHere: true };
  }

  private async lead(hash: string, token: string, ttlSeconds: number, compute: Compute): Promise<string> {
    try {
      const computed = await compute();
      const outputJson = serialize(computed.output);
      if (this.storable(computed)) await this.write(hash, outputJson, ttlSeconds).catch(() => undefined);
      return outputJson;
    } catch (err) {
      if (err instanceof Problem) {
        await this.redis
          .set(this.keys.flightError(hash), JSON.stringify(err.body()), 'PX', LEADER_ERROR_TTL_MS)
          .catch(() => undefined);
      }
      throw err;
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, this.keys.flightLock(hash), token).catch(() => undefined);
      await this.redis.publish(this.keys.flightChannel, hash).catch(() => undefined);
    }
  }

  private async follow(
    hash: string,
    deadline: number,
  ): Promise<
    { kind: 'answer'; outputJson: string } | { kind: 'error'; problem: Problem } | { kind: 'gone' }
  > {
    let pollMs = POLL_FIRST_MS;
    while (Date.now() < deadline) {
      await this.wait(hash, Math.min(pollMs, deadline - Date.now()));
      pollMs = Math.min(pollMs * 2, POLL_MAX_MS);
      try {
        const [[, value], [, error], [, lock]] = (await this.redis
          .multi()
          .get(this.keys.cache(hash))
          .get(this.keys.flightError(hash))
          .exists(this.keys.flightLock(hash))
          .exec()) as [[null, string | null], [null, string | null], [null, number]];
        if (value !== null) return { kind: 'answer', outputJson: this.remember(hash, value) };
        if (error !== null) return { kind: 'error', problem: problemFrom(JSON.parse(error) as ProblemBody) };
        if (lock === 0) return { kind: 'gone' };
      } catch {
        this.metrics.redisErrors.inc({ operation: 'flight_wait' });
        return { kind: 'gone' };
      }
    }
    return { kind: 'gone' };
  }

  private wait(hash: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(hash);
      if (!set) this.waiters.set(hash, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(hash);
        resolve();
      };
      const timer = setTimeout(done, Math.max(ms, 1));
      set.add(done);
    });
  }

  private wake(hash: string): void {
    for (const done of [...(this.waiters.get(hash) ?? [])]) done();
  }

  private storable(computed: Computed): boolean {
    if (!computed.storable) this.metrics.cacheStoresSkipped.inc({ reason: 'version_moved' });
    return computed.storable;
  }

  /** Keeps a value read from Redis in the memory tier; returns its output JSON. */
  private remember(hash: string, value: string): string {
    const { outputJson, expiresAt } = decode(value);
    this.memory.set(hash, outputJson, expiresAt);
    return outputJson;
  }

  private async read(hash: string): Promise<string | undefined> {
    try {
      const value = await this.redis.get(this.keys.cache(hash));
      return value === null ? undefined : this.remember(hash, value);
    } catch (err) {
      this.metrics.redisErrors.inc({ operation: 'cache_get' });
      throw err;
    }
  }

  private async write(hash: string, outputJson: string, ttlSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.min(ttlSeconds, this.config.CACHE_MAX_TTL_SECONDS));
    const expiresAt = Date.now() + ttl * 1000;
    try {
      await this.redis.set(this.keys.cache(hash), encode(outputJson, expiresAt), 'EX', ttl);
      this.memory.set(hash, outputJson, expiresAt);
    } catch (err) {
      this.metrics.redisErrors.inc({ operation: 'cache_set' });
      throw err;
    }
  }
}

function problemFrom(body: ProblemBody): Problem {
  const { type, status, detail, title: _t, instance: _i, correlation_id: _c, ...extensions } = body;
  return new Problem(
    status,
    String(type).split(':').pop() ?? 'agent-error',
    detail ?? 'the agent call failed',
    {
      extensions,
    },
  );
}
