import { randomBytes } from 'node:crypto';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import type { Logger } from './logger.ts';
import { client } from './metrics.ts';
import type { Redis } from './redis.ts';
import {
  CHANGE_SCRIPT,
  MAX_CHANGE_ENTRIES,
  RESET_SCRIPT,
  TICK_SCRIPT,
  markFrom,
  validEntry,
  type VersionsMark,
} from './version-channel.ts';

const STAGING_TTL_MS = 60000;
const STAGING_CHUNK = 500;

/**
 * Publishes one agent instance's view of its sources (source id -> version) to the pool's map in Redis:
 * `replace()` hands over the complete current state and the publisher sends only what changed since
 * what it last published, as one change notice. After a reconnect, a lost map (Redis restarted empty)
 * or a change too large for one notice, it replaces the whole map. Every `tickMs` it sends a tick, which
 * tells orchestrators that the map is current; a tick is sent only once every known change is out.
 */
export class VersionPublisher {
  private desired = new Map<string, string>();
  /** Counts `replace()` calls; `publishedGeneration` is the one Redis has. */
  private generation = 0;
  private publishedGeneration = -1;
  private mark: VersionsMark | undefined;
  private waiters: Array<() => void> = [];
  /** What Redis holds as far as this instance knows; undefined: replace the whole map next. */
  private published: Map<string, string> | undefined;
  private wantChange = true;
  private wantTick = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private readonly onReady = () => {
    this.published = undefined;
    this.kick({ change: true });
  };
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly pool: string;
  private readonly instance: string;
  private readonly tickMs: number;
  private readonly maxEntries: number;
  private readonly log: Logger;
  private readonly sent: client.Counter<'kind'>;
  private readonly failures: client.Counter;
  private readonly entries: client.Gauge;

  constructor(opts: {
    redis: Redis;
    keys: RedisKeys;
    pool: string;
    instance: string;
    tickMs: number;
    maxEntries: number;
    log: Logger;
    registry: client.Registry;
  }) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.pool = opts.pool;
    this.instance = opts.instance;
    this.tickMs = opts.tickMs;
    this.maxEntries = opts.maxEntries;
    this.log = opts.log;
    const registers = [opts.registry];
    this.sent = new client.Counter({
      name: 'agent_versions_notices_total',
      help: 'Version notices published to Redis, by kind (change, reset, tick).',
      labelNames: ['kind'] as const,
      registers,
    });
    this.failures = new client.Counter({
      name: 'agent_versions_publish_failures_total',
      help: 'Attempts to publish versions that failed (Redis unavailable or slow); retried.',
      registers,
    });
    this.entries = new client.Gauge({
      name: 'agent_versions_published_entries',
      help: 'Sources (refs, notes, folders) this instance publishes the versions of.',
      registers,
    });
  }

  start(): void {
    this.redis.on('ready', this.onReady);
    this.timer = setInterval(() => this.kick({ tick: true }), this.tickMs);
    this.timer.unref();
    this.kick({ change: true });
  }

  stop(): void {
    clearInterval(this.timer);
    this.redis.off('ready', this.onReady);
  }

  /** The complete current state. Entries past the bound or with unusable values are left out (unknown). */
  replace(state: ReadonlyMap<string, string>): void {
    const next = new Map<string, string>();
    for (const [id, version] of state) {
      if (next.size >= this.maxEntries) break;
      if (validEntry(id, version)) next.set(id, version);
    }
    this.desired = next;
    this.generation += 1;
    this.entries.set(next.size);
    this.kick({ change: true });
  }

  /**
   * Resolves once everything handed to `replace()` so far is in Redis, with the mark an orchestrator
   * must reach to see it; undefined if that takes longer than `timeoutMs` (Redis away or slow).
   */
  async settled(timeoutMs: number): Promise<VersionsMark | undefined> {
    const target = this.generation;
    this.kick({ change: true });
    const deadline = Date.now() + timeoutMs;
    while (this.publishedGeneration < target || !this.mark) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.mark;
  }

  private kick(want: { change?: boolean; tick?: boolean }): void {
    if (want.change) this.wantChange = true;
    if (want.tick) this.wantTick = true;
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  private async loop(): Promise<void> {
    while (this.wantChange || this.wantTick) {
      if (this.redis.status !== 'ready') return; // 'ready' starts over with a whole replacement
      // Nothing is published, not even a tick, before the source's first full state: an instance that
      // starts must not replace its peers' map with an empty one.
      if (this.generation === 0) return;
      const tick = this.wantTick;
      this.wantChange = false;
      this.wantTick = false;
      try {
        await this.sync();
        if (tick && !this.wantChange) await this.tick();
        this.lastError = '';
      } catch (err) {
        this.failures.inc();
        const message = (err as Error).message;
        if (message !== this.lastError) this.log.warn({ err: message }, 'versions not published; retrying');
        this.lastError = message;
        this.wantChange = true; // the next tick tries again
        return;
      }
    }
  }

  private async sync(): Promise<void> {
    const desired = this.desired;
    const generation = this.generation;
    if (this.published && this.publishedGeneration === generation) return; // nothing new
    await this.send(desired);
    this.publishedGeneration = generation;
  }

  private async send(desired: Map<string, string>): Promise<void> {
    if (!this.published) return this.replaceWhole(desired);
    const set: Array<[string, string]> = [];
    const del: string[] = [];
    for (const [id, version] of desired) if (this.published.get(id) !== version) set.push([id, version]);
    for (const id of this.published.keys()) if (!desired.has(id)) del.push(id);
    if (set.length + del.length === 0) return;
    if (set.length + del.length > MAX_CHANGE_ENTRIES) return this.replaceWhole(desired);
    const fragment = `"set":${JSON.stringify(Object.fromEntries(set))},"del":${JSON.stringify(del)}`;
    const result = await this.redis.eval(
      CHANGE_SCRIPT,
      2,
      this.keys.versions(this.pool),
      this.keys.versionsMeta(this.pool),
      this.keys.versionsChannel,
      this.pool,
      this.instance,
      fragment,
      set.length,
      ...set.flat(),
      ...del,
    );
    if (result === 'NOEPOCH') return this.replaceWhole(desired); // the map is gone (Redis lost its data)
    this.published = new Map(desired);
    this.mark = markFrom(result) ?? this.mark;
    this.sent.inc({ kind: 'change' });
  }

  private async replaceWhole(desired: Map<string, string>): Promise<void> {
    const staging = this.keys.versionsStaging(this.pool, this.instance);
    const pairs = [...desired].flat();
    const batch = this.redis.pipeline().del(staging);
    for (let i = 0; i < pairs.length; i += 2 * STAGING_CHUNK) {
      batch.hset(staging, ...pairs.slice(i, i + 2 * STAGING_CHUNK));
    }
    batch.pexpire(staging, STAGING_TTL_MS);
    for (const [err] of (await batch.exec()) ?? []) if (err) throw err;
    const epoch = randomBytes(8).toString('hex');
    const seq = await this.redis.eval(
      RESET_SCRIPT,
      3,
      this.keys.versions(this.pool),
      this.keys.versionsMeta(this.pool),
      staging,
      this.keys.versionsChannel,
      this.pool,
      this.instance,
      epoch,
    );
    this.published = new Map(desired);
    if (typeof seq === 'number') this.mark = { epoch, seq };
    this.sent.inc({ kind: 'reset' });
  }

  private async tick(): Promise<void> {
    const result = await this.redis.eval(
      TICK_SCRIPT,
      1,
      this.keys.versionsMeta(this.pool),
      this.keys.versionsChannel,
      this.pool,
      this.instance,
    );
    if (result === 'NOEPOCH') {
      this.published = undefined;
      this.wantChange = true;
      return;
    }
    // Another instance replaced the map with its view of the same state: that is this state's mark now.
    const mark = markFrom(result);
    if (mark && mark.epoch !== this.mark?.epoch) this.mark = mark;
    this.sent.inc({ kind: 'tick' });
  }
}
