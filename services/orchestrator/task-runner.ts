import type { AgentPool } from '../../platform/pools.ts';
import type { ActionDescriptor } from '../kit/agent-contract.ts';
import { conflict } from '../kit/problem.ts';
import { isMark } from '../kit/version-channel.ts';
import { matchesCondition, planVersion } from '../kit/versions.ts';
import type { TaskRequest } from './api-schemas.ts';
import type { Answer, CachePolicy, Compute, Computed, TaskCache } from './cache.ts';
import type { CacheKeys } from './cache-key.ts';
import type { OrchestratorMetrics } from './metrics.ts';
import type { AgentPools } from './pools.ts';
import type { PushedVersions } from './pushed-versions.ts';
import type { Session, SessionStore } from './sessions.ts';

export interface TaskOutcome extends Answer {
  session?: { id: string; version: number };
}

/** Reads of a pushed version that moved meanwhile, before asking the agent instead. */
const MAX_VERSION_MOVES = 3;

/**
 * The seed's request flow (3.1): check the cache, on a miss dispatch to the agent pool and cache the
 * answer, record the turn in the session. Shared by synchronous requests and the async workers.
 */
export class TaskRunner {
  private readonly pools: AgentPools;
  private readonly cache: TaskCache;
  private readonly sessions: SessionStore;
  private readonly versions: PushedVersions;
  private readonly keys: CacheKeys;
  private readonly metrics: OrchestratorMetrics;

  constructor(deps: {
    pools: AgentPools;
    cache: TaskCache;
    sessions: SessionStore;
    versions: PushedVersions;
    keys: CacheKeys;
    metrics: OrchestratorMetrics;
  }) {
    this.pools = deps.pools;
    this.cache = deps.cache;
    this.sessions = deps.sessions;
    this.versions = deps.versions;
    this.keys = deps.keys;
    this.metrics = deps.metrics;
  }

  async execute(task: TaskRequest, correlationId: string): Promise<TaskOutcome> {
    const pool: AgentPool = task.agent;
    let session: Session | undefined;
    if (task.session_id) {
      session = await this.sessions.get(task.session_id);
      if (task.session_version !== undefined && session.version !== task.session_version) {
        // Fail before doing the work: the caller's view of the session is stale.
        throw conflict(`the session is at version ${session.version}, not ${task.session_version}`, {
          current_version: session.version,
        });
      }
    }
    const descriptor =
      this.pools.describeKnown(pool, task.action) ??
      (await this.pools.describe(pool, task.action, correlationId));
    const sessionContext = session ? { id: session.id, turns: session.turns } : undefined;
    // `version` keys the answer; the agent reports the version again after the work, and an answer
    // computed while the state moved is not stored under the old key.
    const compute =
      (version?: string): Compute =>
      async (): Promise<Computed> => {
        const response = await this.pools.run(
          pool,
          task.action,
          task.input,
          sessionContext,
          correlationId,
          version,
        );
        if (isMark(response.versions)) this.versions.expect(pool, response.versions);
        return { output: response.output, storable: version === undefined || response.version === version };
      };

    const result = await this.answer(task, descriptor, session, compute, correlationId);
    if (!session) return result;
    const updated = await this.sessions.update(session.id, task.session_version, (s) => ({
      ...s,
      turns: [
        ...s.turns,
        {
          at: new Date().toISOString(),
          agent: pool,
          action: task.action,
          input: task.input,
          output: JSON.parse(result.outputJson) as unknown,
          correlation_id: correlationId,
        },
      ],
    }));
    return { ...result, session: { id: updated.id, version: updated.version } };
  }

  private async answer(
    task: TaskRequest,
    descriptor: ActionDescriptor | undefined,
    session: Session | undefined,
    compute: (version?: string) => Compute,
    correlationId: string,
  ): Promise<Answer> {
    const pool = task.agent;
    if (!descriptor || task.cache === 'bypass') return this.cache.bypass(pool, compute());
    if (
      !descriptor.cacheable ||
      (descriptor.cacheable_when && !matchesCondition(descriptor.cacheable_when, task.input))
    ) {
      return this.cache.bypass(pool, compute(), 'uncacheable');
    }
    // Without Redis nothing is read or stored: no version is needed either.
    if (!this.cache.available) return this.cache.bypass(pool, compute());

    const policy: CachePolicy = {
      ttlSeconds: descriptor.ttl_seconds,
      staleSeconds: descriptor.stale_if_error_seconds ?? 0,
    };
    const key = (version: string | undefined) =>
      this.keys.key({
        pool,
        action: task.action,
        input: task.input,
        ...(version !== undefined ? { version } : {}),
        ...(session ? { session: { id: session.id, version: session.version } } : {}),
      });
    const lookup = (version: string | undefined) =>
      task.cache === 'refresh'
        ? this.cache.refresh(pool, key(version), policy, compute(version))
        : this.cache.getOrCompute(pool, key(version), policy, compute(version));

    const plan = descriptor.version_from ? planVersion(descriptor.version_from, task.input) : undefined;
    if (plan) {
      for (let moves = 0; moves < MAX_VERSION_MOVES; moves += 1) {
        const generation = this.versions.generation(pool);
        const version = this.versions.current(pool, plan);
        if (version === undefined) break;
        this.metrics.cacheVersions.inc({ pool, via: 'pushed' });
        const answer = await lookup(version);
        // A notice may have moved the version while the answer was read from Redis or waited for:
        // the old version's answer is not served once the new version is known.
        if (answer.cache !== 'HIT' || this.versions.generation(pool) === generation) return answer;
        const now = this.versions.current(pool, plan);
        if (now === undefined || now === version) return answer;
      }
    }
    if (!descriptor.version_from && !descriptor.resolve) return lookup(undefined);
    let version: string;
    try {
      version = await this.pools.resolve(pool, task.action, task.input, correlationId);
    } catch (err) {
      // The pool is away: the answer for the version last pushed, if young enough, is better than none.
      const known = plan && task.cache !== 'refresh' ? this.versions.lastKnown(pool, plan) : undefined;
      const stale =
        known === undefined ? undefined : await this.cache.staleOnly(pool, key(known), policy, err);
      if (stale) return stale;
      throw err;
    }
    this.metrics.cacheVersions.inc({ pool, via: 'resolve' });
    return lookup(version);
  }
}
