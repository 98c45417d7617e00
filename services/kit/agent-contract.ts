import type { VersionsMark } from './version-channel.ts';
import type { CacheCondition, VersionPart } from './versions.ts';

/**
 * The contract between the orchestrator and every agent pool.
 *
 *   GET  /v1/actions                 -> { actions: ActionDescriptor[] }
 *   POST /v1/actions/{name}          <- { input, session? }  -> 200 { output }
 *   POST /v1/actions/{name}/resolve  <- { input }            -> 200 { version }
 *
 * Failures are RFC 9457 problem documents: 4xx when the input is at fault (never retried, never
 * counted against the pool's circuit breaker), 5xx or 503 when the agent is.
 */

export interface ActionDescriptor {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of `input`. */
  input_schema: Record<string, unknown>;
  /** Whether the answer may be served from the cache. */
  cacheable: boolean;
  /** How long a cached answer stays valid. */
  ttl_seconds: number;
  /**
   * When true the answer depends on state that moves (a branch head, a note on disk): before a cache
   * lookup the orchestrator asks `/resolve` for the current version of that state, and the version
   * becomes part of the cache key, so a cached answer is never stale.
   */
  resolve?: boolean;
  /**
   * How the version is derived from the input without asking the agent (services/kit/versions.ts): the
   * sources whose versions the agent publishes to Redis. `/resolve` evaluates the same rule live.
   */
  version_from?: VersionPart[];
  /** When present, only inputs matching one alternative are cached (e.g. `temperature: 0`). */
  cacheable_when?: CacheCondition;
  /**
   * How long after it was stored a cached answer may still be served (`X-Cache: STALE`) when the pool
   * fails, is unreachable or its breaker is open (RFC 5861 stale-if-error). Absent or 0: never.
   */
  stale_if_error_seconds?: number;
}

export interface ActionRequest {
  input: unknown;
  /** Present when the task names a session: its id and recent turns, for actions that use history. */
  session?: { id: string; turns: unknown[] };
  /** For `resolve` actions: the version the caller keyed the answer by (from `/resolve`). */
  version?: string;
}

export interface ActionResponse {
  output: unknown;
  /**
   * For `resolve` actions asked with a `version`: the version resolved again after the work. If it
   * differs, the state moved while the answer was computed, and the caller must not store the answer
   * under the old version's key.
   */
  version?: string;
  /**
   * For actions that change the state versions are published for (an Obsidian write): the point in the
   * pool's published versions that includes the change. An orchestrator does not use its pushed
   * versions of the pool until it has applied that far, so a read after a write never sees the old note.
   */
  versions?: VersionsMark;
}

export interface ResolveResponse {
  version: string;
}

export const ACTION_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
