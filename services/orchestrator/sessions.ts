import { randomUUID } from 'node:crypto';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import { Problem, conflict, notFound, unavailable } from '../kit/problem.ts';
import type { Redis } from '../kit/redis.ts';
import type { OrchestratorConfig } from './config.ts';
import type { OrchestratorMetrics } from './metrics.ts';

export interface Turn {
  at: string;
  agent: string;
  action: string;
  input: unknown;
  output: unknown;
  correlation_id: string;
}

export interface Session {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  expires_at: string;
  data: Record<string, unknown>;
  turns: Turn[];
}

/**
 * Compare-and-set on a session hash {v: version, w: id of the last write, doc: JSON}. Re-running a write
 * that was already applied (a command resent after a reconnect) reports success instead of a conflict,
 * so a write is never applied twice and never reported lost.
 * Returns 0 not found, 1 conflict (with the current version), 2 applied.
 */
const COMPARE_AND_SET = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'w')
if not cur[1] then return {0, 0} end
if cur[2] == ARGV[3] then return {2, tonumber(cur[1])} end
if cur[1] ~= ARGV[1] then return {1, tonumber(cur[1])} end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'w', ARGV[3], 'doc', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {2, tonumber(ARGV[2])}
`;

const CAS_RETRIES = 8;
export const SESSION_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Session state in Redis with a TTL and optimistic concurrency: two instances never overwrite each other. */
export class SessionStore {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly config: OrchestratorConfig;
  private readonly metrics: OrchestratorMetrics;

  constructor(deps: {
    redis: Redis;
    keys: RedisKeys;
    config: OrchestratorConfig;
    metrics: OrchestratorMetrics;
  }) {
    this.redis = deps.redis;
    this.keys = deps.keys;
    this.config = deps.config;
    this.metrics = deps.metrics;
  }

  /** Replicas that must hold a session write before we acknowledge it, so a failover cannot lose it. */
  private get replicaAcks(): number {
    return this.config.SESSION_REPLICA_ACKS ?? (this.config.REDIS_SENTINELS ? 1 : 0);
  }

  /**
   * Redis replication is asynchronous: WAIT until enough replicas hold the write. If they do not in
   * time the write may or may not survive a failover, so it is not acknowledged (the caller reads the
   * session's version to see whether it landed).
   */
  private async confirmReplicated(): Promise<void> {
    const needed = this.replicaAcks;
    if (needed === 0) return;
    const acked = await this.redis.wait(needed, Math.floor(this.config.REDIS_COMMAND_TIMEOUT_MS / 2));
    if (acked < needed) {
      this.metrics.sessionOps.inc({ operation: 'replicate', result: 'error' });
      throw unavailable(
        'session-write-unconfirmed',
        `the session write reached ${acked} of ${needed} required replicas in time; read the session before retrying`,
        1,
      );
    }
  }

  async create(data: Record<string, unknown>): Promise<Session> {
    const now = new Date();
    const session: Session = {
      id: randomUUID(),
      version: 1,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      expires_at: this.expiry(now),
      data,
      turns: [],
    };
    const doc = this.serialize(session);
    await this.op('create', async () => {
      const key = this.keys.session(session.id);
      // HSET of fresh random key is idempotent: a resend writes the same fields again.
      await this.redis
        .multi()
        .hset(key, 'v', '1', 'w', 'create', 'doc', doc)
        .expire(key, this.config.SESSION_TTL_SECONDS)
        .exec();
      await this.confirmReplicated();
    });
    return session;
  }

  async get(id: string): Promise<Session> {
    if (!SESSION_ID.test(id)) throw notFound('no such session');
    const raw = await this.op('get', () => this.redis.hget(this.keys.session(id), 'doc'));
    if (raw === null) {
      this.metrics.sessionOps.inc({ operation: 'get', result: 'not_found' });
      throw notFound('no such session (it may have expired)');
    }
    return JSON.parse(raw) as Session;
  }

  async delete(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) throw notFound('no such session');
    const removed = await this.op('delete', () => this.redis.del(this.keys.session(id)));
    if (removed === 0) {
      this.metrics.sessionOps.inc({ operation: 'delete', result: 'not_found' });
      throw notFound('no such session');
    }
  }

  /**
   * Applies `change` to the session. With `expectedVersion` the write happens only if the session is
   * still at that version (else 409). Without it a concurrent write is re-read and `change` re-applied,
   * so nothing is lost either way.
   */
  async update(
    id: string,
    expectedVersion: number | undefined,
    change: (s: Session) => Session,
  ): Promise<Session> {
    const writeId = randomUUID();
    for (let attempt = 0; attempt < CAS_RETRIES; attempt += 1) {
      const current = await this.get(id);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        this.metrics.sessionOps.inc({ operation: 'update', result: 'conflict' });
        throw conflict(`the session is at version ${current.version}, not ${expectedVersion}`, {
          current_version: current.version,
        });
      }
      const now = new Date();
      const next = change({ ...current });
      next.version = current.version + 1;
      next.updated_at = now.toISOString();
      next.expires_at = this.expiry(now);
      next.turns = next.turns.slice(-this.config.SESSION_MAX_TURNS);
      const doc = this.serialize(next);
      const [result] = await this.op('update', async () => {
        return (await this.redis.eval(
          COMPARE_AND_SET,
          1,
          this.keys.session(id),
          String(current.version),
          String(next.version),
          writeId,
          doc,
          this.config.SESSION_TTL_SECONDS,
        )) as [number, number];
      });
      if (result === 2) {
        await this.op('replicate', () => this.confirmReplicated());
        return next;
      }
      if (result === 0) throw notFound('no such session (it may have expired)');
      if (expectedVersion !== undefined) {
        this.metrics.sessionOps.inc({ operation: 'update', result: 'conflict' });
        throw conflict('the session was changed by another request', {
          current_version: current.version + 1,
        });
      }
    }
    this.metrics.sessionOps.inc({ operation: 'update', result: 'conflict' });
    throw conflict('the session is being changed by too many requests at once; retry');
  }

  /**
   * PATCH: shallow-merges `data` into the session's data (a null value removes its key). `ifMatch` is
   * the request's If-Match: a version (`"3"`) makes the write conditional, and a session that moved on
   * fails the precondition with 412 (RFC 9110); `*` or none writes on top of whatever is there.
   */
  async mergeData(id: string, data: Record<string, unknown>, ifMatch: string | undefined): Promise<Session> {
    const expected = ifMatchVersion(ifMatch);
    try {
      return await this.update(id, expected, (s) => ({ ...s, data: merged(s.data, data) }));
    } catch (err) {
      if (err instanceof Problem && err.status === 409 && expected !== undefined) {
        throw new Problem(412, 'precondition-failed', err.message, { extensions: err.extensions });
      }
      throw err;
    }
  }

  private serialize(session: Session): string {
    const doc = JSON.stringify(session);
    if (Buffer.byteLength(doc) > this.config.SESSION_MAX_BYTES) {
      throw new Problem(
        413,
        'session-too-large',
        `a session may hold at most ${this.config.SESSION_MAX_BYTES} bytes`,
      );
    }
    return doc;
  }

  private expiry(from: Date): string {
    return new Date(from.getTime() + this.config.SESSION_TTL_SECONDS * 1000).toISOString();
  }

  private async op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') {
      this.metrics.sessionOps.inc({ operation, result: 'error' });
      throw unavailable(
        'session-store-unavailable',
        'session state is unavailable while Redis is unreachable',
        2,
      );
    }
    try {
      const result = await fn();
      this.metrics.sessionOps.inc({ operation, result: 'ok' });
      return result;
    } catch (err) {
      if (err instanceof Problem) throw err;
      this.metrics.sessionOps.inc({ operation, result: 'error' });
      this.metrics.redisErrors.inc({ operation: `session_${operation}` });
      throw unavailable('session-store-unavailable', 'session state could not be read or written; retry', 1);
    }
  }
}

/** The version an If-Match header names; undefined for none or `*`; 400 for anything else. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^"?(\d{1,15})"?$/.exec(header.trim());
  if (!m) throw new Problem(400, 'validation-error', 'If-Match must be a session version such as "3"');
  return Number(m[1]);
}

function merged(data: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
