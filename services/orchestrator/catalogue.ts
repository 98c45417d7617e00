import type { ActionDescriptor } from '../kit/agent-contract.ts';
import { cacheConditionSchema, versionRuleSchema } from '../kit/versions.ts';

const MAX_STALE_SECONDS = 30 * 86400;

/**
 * An action descriptor from a pool's `GET /v1/actions`, with its cache rules checked: a rule that does
 * not parse is dropped the safe way (no `version_from`: the version is resolved; no `cacheable_when`:
 * nothing is cached; no stale window). Undefined for an entry that is no descriptor at all.
 */
export function checkedDescriptor(raw: unknown): ActionDescriptor | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const d = raw as Record<string, unknown>;
  if (typeof d.name !== 'string') return undefined;
  const versionFrom = d.version_from === undefined ? undefined : versionRuleSchema.safeParse(d.version_from);
  const condition =
    d.cacheable_when === undefined ? undefined : cacheConditionSchema.safeParse(d.cacheable_when);
  const stale = d.stale_if_error_seconds;
  return {
    ...(d as unknown as ActionDescriptor),
    cacheable: d.cacheable === true && condition?.success !== false,
    ttl_seconds: typeof d.ttl_seconds === 'number' && Number.isFinite(d.ttl_seconds) ? d.ttl_seconds : 0,
    version_from: versionFrom?.success ? versionFrom.data : undefined,
    cacheable_when: condition?.success ? condition.data : undefined,
    stale_if_error_seconds:
      typeof stale === 'number' && Number.isInteger(stale) && stale > 0
        ? Math.min(stale, MAX_STALE_SECONDS)
        : 0,
  };
}
