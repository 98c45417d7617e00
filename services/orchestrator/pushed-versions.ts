import { AGENT_POOLS, type AgentPool } from '../../platform/pools.ts';
import { subscribeChannel } from '../kit/redis.ts';
import { parseNotice, validEntry, type VersionNotice, type VersionsMark } from '../kit/version-channel.ts';
import { versionFrom, type PlannedPart } from '../kit/versions.ts';
import type { RedisDeps } from './deps.ts';

interface PoolMap {
  entries: Map<string, string>;
  bytes: number;
  epoch: string | undefined;
  seq: number;
  /** The map matches Redis as of `seq` (false before the first load, after a gap, or past the bound). */
  synced: boolean;
  loading: boolean;
  loadAgain: boolean;
  /** A load is wanted but waits: the last one failed or overflowed less than RETRY_MS ago. */
  pending: boolean;
  failedAt: number;
  /** Notices that arrived during a load, applied after it. */
  queued: VersionNotice[];
  /** When a publisher of the pool was last heard from. */
  heardAt: number;
  /** Moves whenever an answer read from this map may differ from before. */
  generation: number;
  /** A change made through this instance (a write) is published at this seq: not current before it. */
  awaitSeq: number;
}

const SCAN_COUNT = 1000;
const RETRY_MS = 1000;
/** A whole load that takes longer fails (and is retried): a scan never runs on without end. */
const LOAD_TIMEOUT_MS = 10000;
const MAX_QUEUED = 1000;
/** What one entry costs beyond its characters: the Map slot and two string headers. */
const ENTRY_OVERHEAD = 96;
const entryBytes = (id: string, version: string) => 2 * (id.length + version.length) + ENTRY_OVERHEAD;

/**
 * Every pool's published versions (docs/decisions.md, "Versions are pushed"), kept in memory: loaded
 * whole from Redis at start, after every reconnect and whenever a notice shows that something was
 * missed, then kept current by the change notices. A pool's map answers only while it is current: loaded,
 * without a known gap, and with a tick from one of the pool's agents within VERSIONS_MAX_SILENCE_MS.
 * Otherwise the task runner asks the agent's `/resolve`, as it did before versions were pushed.
 */
export class PushedVersions {
  private readonly pools = new Map<string, PoolMap>();
  private timer: NodeJS.Timeout | undefined;
  private readonly deps: RedisDeps;

  constructor(deps: RedisDeps) {
    this.deps = deps;
    for (const pool of AGENT_POOLS) {
      this.pools.set(pool, {
        entries: new Map(),
        bytes: 0,
        epoch: undefined,
        seq: 0,
        synced: false,
        loading: false,
        loadAgain: false,
        pending: false,
        failedAt: 0,
        queued: [],
        heardAt: 0,
        generation: 0,
        awaitSeq: 0,
      });
    }
  }

  get enabled(): boolean {
    return this.deps.config.VERSIONS_MAX_BYTES > 0;
  }

  async start(): Promise<void> {
    if (!this.enabled) return;
    this.deps.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.deps.keys.versionsChannel) return;
      const notice = parseNotice(message);
      if (notice) this.handle(notice);
    });
    // Anything may have been missed while a connection was away: load every map again.
    this.deps.subscriber.on('ready', () => this.loadAll());
    this.deps.redis.on('ready', () => this.loadAll());
    await subscribeChannel(this.deps.subscriber, this.deps.keys.versionsChannel);
    await Promise.all(AGENT_POOLS.map((pool) => this.load(pool)));
    // Retries loads that failed, and reports how current each map is.
    this.timer = setInterval(() => {
      for (const [pool, map] of this.pools) {
        if (map.pending) this.requestLoad(pool, map);
        this.report(pool);
      }
    }, RETRY_MS / 2);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The version `plan` names, when the pool's map is current and knows every source; else undefined. */
  current(pool: AgentPool, plan: readonly PlannedPart[]): string | undefined {
    const map = this.pools.get(pool)!;
    if (!this.isCurrent(map)) return undefined;
    return versionFrom(plan, (source) => map.entries.get(source));
  }

  /**
   * An agent answered a change (a write) that it published at `mark`: until this map has applied that
   * far, it is not current, so no read through this instance serves the state before the change.
   */
  expect(pool: AgentPool, mark: VersionsMark): void {
    if (!this.enabled) return;
    const map = this.pools.get(pool)!;
    if (mark.epoch !== map.epoch) return this.resync(pool, map);
    if (mark.seq <= map.seq) return;
    map.awaitSeq = Math.max(map.awaitSeq, mark.seq);
    map.generation += 1;
  }

  /** The version `plan` had when the map was last current, for a stale answer while the pool is away. */
  lastKnown(pool: AgentPool, plan: readonly PlannedPart[]): string | undefined {
    const map = this.pools.get(pool)!;
    return versionFrom(plan, (source) => map.entries.get(source));
  }

  /** Changes whenever `current()` may answer differently for some plan. */
  generation(pool: AgentPool): number {
    return this.pools.get(pool)!.generation;
  }

  private isCurrent(map: PoolMap): boolean {
    return (
      map.synced &&
      map.awaitSeq <= map.seq &&
      Date.now() - map.heardAt <= this.deps.config.VERSIONS_MAX_SILENCE_MS &&
      this.deps.subscriber.status === 'ready'
    );
  }

  private report(pool: string): void {
    const map = this.pools.get(pool)!;
    this.deps.metrics.pushedVersionsCurrent.set({ pool }, this.isCurrent(map) ? 1 : 0);
    this.deps.metrics.pushedVersionsEntries.set({ pool }, map.entries.size);
  }

  private loadAll(): void {
    for (const pool of AGENT_POOLS) this.requestLoad(pool, this.pools.get(pool)!, true);
  }

  /** Loads now, after the running load, or (after a failure) once RETRY_MS have passed. */
  private requestLoad(pool: string, map: PoolMap, now = false): void {
    if (map.loading) map.loadAgain = true;
    else if (!now && Date.now() - map.failedAt < RETRY_MS) map.pending = true;
    else void this.load(pool);
  }

  private handle(notice: VersionNotice): void {
    const map = this.pools.get(notice.pool);
    if (!map) return;
    map.heardAt = Date.now();
    if (map.loading) {
      if (map.queued.length < MAX_QUEUED) map.queued.push(notice);
      else map.loadAgain = true;
      return;
    }
    this.apply(notice.pool, map, notice);
  }

  private apply(pool: string, map: PoolMap, notice: VersionNotice): void {
    // Another map (a publisher replaced it, or Redis lost it), or none loaded yet: load it.
    if (!map.synced || notice.epoch !== map.epoch) return this.resync(pool, map);
    if (notice.seq <= map.seq) return; // already in what was loaded
    // A reset or tick ahead of us, or a change that does not follow ours: something was missed.
    if (notice.kind !== 'change' || notice.seq !== map.seq + 1) return this.resync(pool, map);
    for (const [id, version] of Object.entries(notice.set)) {
      const before = map.entries.get(id);
      if (before !== undefined) map.bytes -= entryBytes(id, before);
      map.entries.set(id, version);
      map.bytes += entryBytes(id, version);
    }
    for (const id of notice.del) {
      const before = map.entries.get(id);
      if (before === undefined) continue;
      map.bytes -= entryBytes(id, before);
      map.entries.delete(id);
    }
    map.seq = notice.seq;
    map.generation += 1;
    if (map.bytes > this.deps.config.VERSIONS_MAX_BYTES) this.overflow(pool, map);
  }

  private resync(pool: string, map: PoolMap): void {
    if (map.synced) map.generation += 1;
    map.synced = false;
    this.requestLoad(pool, map);
  }

  private overflow(pool: string, map: PoolMap): void {
    if (map.synced) {
      this.deps.log.warn(
        { pool, bytes: map.bytes, max: this.deps.config.VERSIONS_MAX_BYTES },
        'pushed versions exceed VERSIONS_MAX_BYTES; tasks of this pool resolve instead',
      );
    }
    map.entries = new Map();
    map.bytes = 0;
    map.synced = false;
    map.failedAt = Date.now();
    map.generation += 1;
  }

  /**
   * Loads a pool's map: its epoch and seq first, then every entry (HSCAN, bounded by bytes), then the
   * notices that arrived meanwhile. Entries changed during the scan are set again by those notices, which
   * carry whole values, so the result is the map as of the last notice applied.
   */
  private async load(pool: string): Promise<void> {
    const map = this.pools.get(pool)!;
    map.pending = false;
    if (this.deps.redis.status !== 'ready') {
      map.failedAt = Date.now(); // 'ready' loads again
      return;
    }
    map.loading = true;
    map.loadAgain = false;
    map.synced = false;
    map.generation += 1;
    this.deps.metrics.pushedVersionsLoads.inc({ pool });
    try {
      const [epoch, seqText] = await this.deps.redis.hmget(this.deps.keys.versionsMeta(pool), 'epoch', 'seq');
      const seq = Number(seqText ?? 0);
      const entries = new Map<string, string>();
      let bytes = 0;
      let cursor = '0';
      let complete = true;
      const deadline = Date.now() + LOAD_TIMEOUT_MS;
      do {
        if (Date.now() > deadline) throw new Error(`no whole scan within ${LOAD_TIMEOUT_MS} ms`);
        const [next, flat] = await this.deps.redis.hscan(
          this.deps.keys.versions(pool),
          cursor,
          'COUNT',
          SCAN_COUNT,
        );
        cursor = next;
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const id = flat[i]!;
          const version = flat[i + 1]!;
          if (!validEntry(id, version)) continue;
          entries.set(id, version);
          bytes += entryBytes(id, version);
        }
        if (bytes > this.deps.config.VERSIONS_MAX_BYTES) complete = false;
      } while (cursor !== '0' && complete);
      map.entries = entries;
      map.bytes = bytes;
      if ((epoch ?? undefined) !== map.epoch) map.awaitSeq = 0;
      map.epoch = epoch ?? undefined;
      map.seq = Number.isSafeInteger(seq) ? seq : 0;
      map.synced = complete && epoch !== null;
      map.failedAt = complete ? 0 : Date.now();
      if (!complete) this.overflow(pool, map);
    } catch (err) {
      map.failedAt = Date.now();
      map.pending = true;
      this.deps.metrics.redisErrors.inc({ operation: 'versions_load' });
      this.deps.log.debug({ pool, err: (err as Error).message }, 'pushed versions not loaded; retrying');
    } finally {
      map.loading = false;
      map.generation += 1;
    }
    const queued = map.queued;
    map.queued = [];
    if (map.loadAgain) this.requestLoad(pool, map, true);
    else if (map.synced) for (const notice of queued) if (!map.loading) this.apply(pool, map, notice);
    this.report(pool);
  }
}
