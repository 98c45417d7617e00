import { z } from 'zod';

/**
 * Declarative rules an action advertises in `GET /v1/actions`, read by the orchestrator and by the agent
 * alike, so both derive the same cache version and the same cacheability from a task's input:
 *
 * - `version_from`: the parts of the version of the moving state an answer depends on. Each part names
 *   a *source* (git: a repository's ref; Obsidian: a note, a folder, the vault) built from input fields.
 *   The agent publishes every source's current value to Redis as it changes; the orchestrator looks the
 *   parts up in its copy, and only when one is unknown asks the agent's `/resolve`, which evaluates the
 *   same rule against the live state. Both produce the same version string, so both share cache keys.
 * - `cacheable_when`: alternatives of field matches; an input matching none is answered uncached.
 */

/** One top-level input field, with the default the agent's input schema applies when it is absent. */
export const inputRefSchema = z.strictObject({
  input: z.string().min(1).max(64),
  default: z.string().max(256).optional(),
});
export type InputRef = z.infer<typeof inputRefSchema>;

export const versionPartSchema = z.strictObject({
  /** The kind of source (`ref`, `note`, ...); its arguments come from the input. */
  source: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
  args: z.array(inputRefSchema).max(4).default([]),
  /** The part is skipped when this input field is present (a cursor that already pins the commit). */
  unless: z.string().min(1).max(64).optional(),
  /** A last argument that is a full object id (40 or 64 lowercase hex) is its own version: immutable. */
  object_id_is_immutable: z.boolean().optional(),
  /** The input field the part is about, named in the agent's errors. */
  field: z.string().min(1).max(64).optional(),
});
export type VersionPart = z.input<typeof versionPartSchema>;
export const versionRuleSchema = z.array(versionPartSchema).min(1).max(8);

/** A field matches a JSON scalar exactly, or `{absent: true}` when the field is not given. */
const matchSchema = z.union([
  z.string().max(256),
  z.number(),
  z.boolean(),
  z.null(),
  z.strictObject({ absent: z.literal(true) }),
]);
export const cacheConditionSchema = z
  .array(z.record(z.string().max(64), matchSchema))
  .min(1)
  .max(8);
export type CacheCondition = z.infer<typeof cacheConditionSchema>;

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Longest input value a source is built from; longer ones are never published, so never looked up. */
const MAX_ARG_CHARS = 1024;
/** Stands for a skipped part in the version string. */
const SKIPPED = '-';

/** A source's name in the published map: its kind and arguments, unambiguous whatever they contain. */
export const sourceId = (kind: string, args: readonly string[] = []): string =>
  JSON.stringify([kind, ...args]);

export type PlannedPart =
  { literal: string } | { source: string; kind: string; args: string[]; field: string | undefined };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** An input field's own value (never one inherited from Object.prototype). */
const field = (input: Record<string, unknown>, name: string): unknown =>
  Object.hasOwn(input, name) ? input[name] : undefined;

/**
 * What the version of `input` is made of: literals and sources to look up. Undefined when the input does
 * not have the shape the rule reads (not an object, a non-string or oversized field): the caller then
 * asks the agent, whose input validation answers properly.
 */
export function planVersion(rule: readonly VersionPart[], input: unknown): PlannedPart[] | undefined {
  if (!isPlainObject(input)) return undefined;
  const plan: PlannedPart[] = [];
  for (const part of rule) {
    if (part.unless !== undefined && field(input, part.unless) !== undefined) {
      plan.push({ literal: SKIPPED });
      continue;
    }
    const args: string[] = [];
    for (const ref of part.args ?? []) {
      const value = field(input, ref.input) ?? ref.default;
      if (typeof value !== 'string' || value.length > MAX_ARG_CHARS || value.includes('\0')) return undefined;
      args.push(value);
    }
    const last = args.at(-1);
    if (part.object_id_is_immutable && last !== undefined && OBJECT_ID.test(last)) {
      plan.push({ literal: last });
      continue;
    }
    plan.push({ source: sourceId(part.source, args), kind: part.source, args, field: part.field });
  }
  return plan;
}

/** The version string: the parts' values in order. */
export const joinVersion = (values: readonly string[]): string => values.join(' ');

/** The version from a synchronous lookup (the orchestrator's map); undefined when any source is unknown. */
export function versionFrom(
  plan: readonly PlannedPart[],
  lookup: (source: string) => string | undefined,
): string | undefined {
  const values: string[] = [];
  for (const part of plan) {
    if ('literal' in part) values.push(part.literal);
    else {
      const value = lookup(part.source);
      if (value === undefined) return undefined;
      values.push(value);
    }
  }
  return joinVersion(values);
}

/** Whether `input` matches one of the condition's alternatives. */
export function matchesCondition(condition: CacheCondition, input: unknown): boolean {
  if (!isPlainObject(input)) return false;
  return condition.some((alternative) =>
    Object.entries(alternative).every(([name, match]) => {
      const value = field(input, name);
      if (match !== null && typeof match === 'object') return value === undefined;
      return value === match;
    }),
  );
}
