import type { AgentPool } from '../../platform/pools.ts';
import { conflict } from '../kit/problem.ts';
import type { TaskRequest } from './api-schemas.ts';
import { cacheKey, type Answer, type Computed, type TaskCache } from './cache.ts';
import type { AgentPools } from './pools.ts';
import type { Session, SessionStore } from './sessions.ts';

export interface TaskOutcome extends Answer {
  session?: { id: string; version: number };
}

/**
 * The seed's request flow (3.1): check the cache, on a miss dispatch to the agent pool and cache the
 * answer, record the turn in the session. Shared by synchronous requests and the async workers.
 */
export class TaskRunner {
  private readonly pools: AgentPools;
  private readonly cache: TaskCache;
  private readonly sessions: SessionStore;

  constructor(deps: { pools: AgentPools; cache: TaskCache; sessions: SessionStore }) {
    this.pools = deps.pools;
    this.cache = deps.cache;
    this.sessions = deps.sessions;
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
    // `version` (from the action's resolve) keys the answer; the agent reports the version again after
    // the work, and an answer computed while the state moved is not stored under the old key.
    const compute = (version?: string) => async (): Promise<Computed> => {
      const response = await this.pools.run(
        pool,
        task.action,
        task.input,
        sessionContext,
        correlationId,
        version,
      );
      return { output: response.output, storable: version === undefined || response.version === version };
    };

    let result: Answer;
    if (!descriptor?.cacheable || task.cache === 'bypass') {
      result = await this.cache.bypass(pool, compute());
    } else {
      const version = descriptor.resolve
        ? await this.pools.resolve(pool, task.action, task.input, correlationId)
        : undefined;
      const hash = cacheKey({
        pool,
        action: task.action,
        input: task.input,
        ...(version !== undefined ? { version } : {}),
        ...(session ? { session: { id: session.id, version: session.version } } : {}),
      });
      result =
        task.cache === 'refresh'
          ? await this.cache.refresh(pool, hash, descriptor.ttl_seconds, compute(version))
          : await this.cache.getOrCompute(pool, hash, descriptor.ttl_seconds, compute(version));
    }

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
}
