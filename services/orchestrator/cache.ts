import { randomUUID } from 'node:crypto';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import type { Logger } from '../kit/logger.ts';
import { Problem, type ProblemBody } from '../kit/problem.ts';
import { subscribeChannel, type Redis } from '../kit/redis.ts';
import type { OrchestratorConfig } from './config.ts';
import type { RedisDeps } from './deps.ts';
import { LocalCache } from './local-cache.ts';
import type { OrchestratorMetrics } from './metrics.ts';

export type CacheResult = 'HIT' | 'MISS' | 'BYPASS' | 'STALE';

/** An answer as JSON text: answers move between Redis, memory and the response without re-parsing. */
export interface Answer {
  outputJson: string;
  cache: CacheResult;
  /** For a STALE answer: whole seconds since it was stored (the `Age` header). */
  ageSeconds?: number;
}

/** An agent's answer, and whether it may be stored under the key it was asked for. */
export interface Computed {
  output: unknown;
  storable: boolean;
}

/** Runs the agent. */
export type Compute = () => Promise<Computed>;

/** How long an action's answers are fresh, and how old one may be served STALE when its pool fails. */
export interface CachePolicy {
  ttlSeconds: number;
  staleSeconds: number;
}

export type LookupResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'uncacheable' | 'error';

const serialize = (output: unknown): string => JSON.stringify(output) ?? 'null';

/**
 * An answer as stored in Redis, `<stored at ms>:<fresh until ms>:<output JSON>`: fresh until its TTL,
 * kept longer when the action allows stale answers.
 */
interface Stored {
  outputJson: string;
  storedAt: number;
  freshUntil: number;
}
const encode = (s: Stored) => `${s.storedAt}:${s.freshUntil}:${s.outputJson}`;
function decode(value: string): Stored | undefined {
  const first = value.indexOf(':');
  const second = value.indexOf(':', first + 1);
  if (first < 1 || second < 0) return undefined;
  const storedAt = Number(value.slice(0, first));
  const freshUntil = Number(value.slice(first + 1, second));
  if (!Number.isSafeInteger(storedAt) || !Number.isSafeInteger(freshUntil)) return undefined;
  return { storedAt, freshUntil, outputJson: value.slice(second + 1) };
}

/** Failures of a pool itself, for which a stored answer may be served STALE, and how they are counted. */
const STALE_REASONS: Record<string, string> = {
  'agent-unavailable': 'unavailable',
  'agent-not-configured': 'unavailable',
  'agent-timeout': 'timeout',
  'agent-circuit-open': 'circuit_open',
  'agent-error': 'error',
  'agent-bad-response': 'error',
};
const staleReason = (err: unknown): string | undefined =>
  err instanceof Problem && err.status >= 500 ? STALE_REASONS[err.slug] : undefined;

const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;
const LEADER_ERROR_TTL_MS = 2000;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

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

  constructor(deps: RedisDeps) {
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

  /** Bytes of answers held in this instance's memory tier. */
  get memoryBytes(): number {
    return this.memory.bytes;
  }

  /**
   * Answers from the cache, or computes once across all instances and stores the answer. Returns HIT
   * when the answer was computed by someone else, and STALE when the pool failed and a stored answer
   * younger than the policy's stale window was at hand.
   */
  async getOrCompute(pool: string, hash: string, policy: CachePolicy, compute: Compute): Promise<Answer> {
    if (!this.available) return this.bypass(pool, compute, 'bypass');
    const remembered = this.memory.get(hash);
    if (remembered !== undefined) {
      this.metrics.cacheLookups.inc({ pool, result: 'hit' });
      this.metrics.cacheLocalHits.inc();
      return { outputJson: remembered, cache: 'HIT' };
    }
    let stored: Stored | undefined;
    try {
      stored = await this.read(hash);
    } catch {
      return this.bypass(pool, compute, 'error');
    }
    if (stored && stored.freshUntil > Date.now()) {
      this.remember(hash, stored);
      this.metrics.cacheLookups.inc({ pool, result: 'hit' });
      return { outputJson: stored.outputJson, cache: 'HIT' };
    }
    let result: LookupResult = 'miss';
    try {
      let shared = this.inflight.get(hash);
      let first = false;
      if (!shared) {
        first = true;
        shared = this.flight(hash, policy, compute).finally(() => this.inflight.delete(hash));
        this.inflight.set(hash, shared);
      }
      const { outputJson, computedHere } = await shared;
      if (!(first && computedHere)) result = 'hit';
      return { outputJson, cache: result === 'hit' ? 'HIT' : 'MISS' };
    } catch (err) {
      const stale = this.staleAnswer(pool, stored, policy, err);
      if (!stale) throw err;
      result = 'stale';
      return stale;
    } finally {
      this.metrics.cacheLookups.inc({ pool, result });
    }
  }

  /**
   * The stored answer for `hash`, STALE, when `err` is a failure of the pool and the answer is young
   * enough; used when the version could not be learnt because the pool is away.
   */
  async staleOnly(
    pool: string,
    hash: string,
    policy: CachePolicy,
    err: unknown,
  ): Promise<Answer | undefined> {
    if (!staleReason(err) || this.staleWindowMs(policy) === 0 || !this.available) return undefined;
    const stored = await this.read(hash).catch(() => undefined);
    const stale = this.staleAnswer(pool, stored, policy, err);
    if (stale) this.metrics.cacheLookups.inc({ pool, result: 'stale' });
    return stale;
  }

  /** Recomputes and overwrites the stored answer everywhere (`cache: "refresh"`). */
  async refresh(pool: string, hash: string, policy: CachePolicy, compute: Compute): Promise<Answer> {
    const computed = await compute();
    const outputJson = serialize(computed.output);
    this.metrics.cacheLookups.inc({ pool, result: 'miss' });
    if (this.storable(computed)) await this.write(hash, outputJson, policy).catch(() => undefined);
    await this.redis.publish(this.keys.flightChannel, hash).catch(() => undefined);
    return { outputJson, cache: 'MISS' };
  }

  /** Computes without the cache: asked to (`bypass`), Redis away (`bypass`, `error`), or not cacheable. */
  async bypass(
    pool: string,
    compute: Compute,
    result: 'bypass' | 'error' | 'uncacheable' = 'bypass',
  ): Promise<Answer> {
    this.metrics.cacheLookups.inc({ pool, result });
    return { outputJson: serialize((await compute()).output), cache: 'BYPASS' };
  }

  private staleWindowMs(policy: CachePolicy): number {
    return Math.min(policy.staleSeconds, this.config.CACHE_MAX_STALE_SECONDS) * 1000;
  }

  private staleAnswer(
    pool: string,
    stored: Stored | undefined,
    policy: CachePolicy,
    err: unknown,
  ): Answer | undefined {
    const reason = staleReason(err);
    if (!reason || !stored) return undefined;
    const age = Math.max(0, Date.now() - stored.storedAt);
    if (age > this.staleWindowMs(policy)) return undefined;
    this.metrics.cacheStaleAnswers.inc({ pool, reason });
    return { outputJson: stored.outputJson, cache: 'STALE', ageSeconds: Math.floor(age / 1000) };
  }

  private async flight(hash: string, policy: CachePolicy, compute: Compute) {
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
        return { outputJson: await this.lead(hash, token, policy, compute), computedHere: !waited };
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

  private async lead(hash: string, token: string, policy: CachePolicy, compute: Compute): Promise<string> {
    try {
      const computed = await compute();
      const outputJson = serialize(computed.output);
      if (this.storable(computed)) await this.write(hash, outputJson, policy).catch(() => undefined);
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
        // A value still there but no longer fresh is the old answer, kept for stale-if-error.
        const stored = value === null ? undefined : decode(value);
        if (stored && stored.freshUntil > Date.now()) {
          this.remember(hash, stored);
          return { kind: 'answer', outputJson: stored.outputJson };
        }
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

  /** Keeps a fresh answer read from Redis in the memory tier. */
  private remember(hash: string, stored: Stored): void {
    this.memory.set(hash, stored.outputJson, stored.freshUntil);
  }

  private async read(hash: string): Promise<Stored | undefined> {
    try {
      const value = await this.redis.get(this.keys.cache(hash));
      return value === null ? undefined : decode(value);
    } catch (err) {
      this.metrics.redisErrors.inc({ operation: 'cache_get' });
      throw err;
    }
  }

  /** Stores the answer fresh for the TTL, and kept as long as the stale window asks, if longer. */
  private async write(hash: string, outputJson: string, policy: CachePolicy): Promise<void> {
    const ttl = Math.max(1, Math.min(policy.ttlSeconds, this.config.CACHE_MAX_TTL_SECONDS));
    const keep = Math.max(ttl, Math.ceil(this.staleWindowMs(policy) / 1000));
    const storedAt = Date.now();
    const stored: Stored = { outputJson, storedAt, freshUntil: storedAt + ttl * 1000 };
    try {
      await this.redis.set(this.keys.cache(hash), encode(stored), 'EX', keep);
      this.remember(hash, stored);
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
