/**
 * How agents publish the versions of their moving state and how orchestrators follow them
 * (docs/decisions.md, "Versions are pushed"):
 *
 * - `versions:<pool>` is a hash, source id -> version; `versions-meta:<pool>` holds its `epoch` (new on
 *   every whole replacement) and `seq` (one more per change). Both change only through the scripts below,
 *   which also publish a notice on `versions`, so a notice's seq numbers exactly one change of the hash.
 * - Notices: `change` (the entries set and deleted), `reset` (the hash was replaced: load it again) and
 *   `tick` (a publisher is alive and its published state is current, sent every few hundred ms).
 * - An orchestrator loads the hash with its meta, then applies changes whose seq follows its own; a gap,
 *   another epoch, or a tick with a higher seq means it missed something, and it loads again. It trusts
 *   a pool's map only while ticks arrive.
 */

export type VersionNotice =
  | { pool: string; kind: 'change'; epoch: string; seq: number; set: Record<string, string>; del: string[] }
  | { pool: string; kind: 'reset' | 'tick'; epoch: string; seq: number };

/** Largest notice parsed; a publisher never sends one this big (it replaces the map instead). */
export const MAX_NOTICE_CHARS = 4 * 1048576;
/** Most entries one change notice carries; more are published as a whole replacement. */
export const MAX_CHANGE_ENTRIES = 1000;
export const MAX_SOURCE_ID_CHARS = 4096;
export const MAX_VERSION_CHARS = 512;

const EPOCH = /^[0-9a-f]{8,64}$/;

/** A valid notice, or undefined for anything else (Redis content is not trusted). */
export function parseNotice(message: string): VersionNotice | undefined {
  if (message.length > MAX_NOTICE_CHARS) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (typeof m.pool !== 'string' || typeof m.epoch !== 'string' || !EPOCH.test(m.epoch)) return undefined;
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0) return undefined;
  if (m.kind === 'reset' || m.kind === 'tick') {
    return { pool: m.pool, kind: m.kind, epoch: m.epoch, seq: m.seq };
  }
  if (m.kind !== 'change') return undefined;
  const set = m.set;
  const del = m.del;
  if (typeof set !== 'object' || set === null || Array.isArray(set) || !Array.isArray(del)) return undefined;
  const entries = Object.entries(set as Record<string, unknown>);
  if (entries.length + del.length > MAX_CHANGE_ENTRIES) return undefined;
  const clean: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [id, version] of entries) {
    if (!validEntry(id, version)) return undefined;
    clean[id] = version as string;
  }
  for (const id of del) {
    if (typeof id !== 'string' || id.length > MAX_SOURCE_ID_CHARS) return undefined;
  }
  return { pool: m.pool, kind: 'change', epoch: m.epoch, seq: m.seq, set: clean, del: del as string[] };
}

export const validEntry = (id: string, version: unknown): version is string =>
  id.length <= MAX_SOURCE_ID_CHARS &&
  typeof version === 'string' &&
  version.length > 0 &&
  version.length <= MAX_VERSION_CHARS &&
  !/\s/.test(version);

/** KEYS: map, meta. ARGV: channel, pool, instance, JSON fragment `"set":{..},"del":[..]`, n, n field/value pairs, deleted fields. */
export const CHANGE_SCRIPT = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then return 'NOEPOCH' end
local n = tonumber(ARGV[5])
local i = 6
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('PUBLISH', ARGV[1], '{"pool":"' .. ARGV[2] .. '","kind":"change","epoch":"' .. epoch .. '","seq":' .. seq .. ',"instance":"' .. ARGV[3] .. '",' .. ARGV[4] .. '}')
return {epoch, seq}
`;

/** KEYS: map, meta, staging. ARGV: channel, pool, instance, new epoch. Swaps the staged map in whole. */
export const RESET_SCRIPT = `
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[2], 'epoch', ARGV[4])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('PUBLISH', ARGV[1], '{"pool":"' .. ARGV[2] .. '","kind":"reset","epoch":"' .. ARGV[4] .. '","seq":' .. seq .. ',"instance":"' .. ARGV[3] .. '"}')
return seq
`;

/** KEYS: meta. ARGV: channel, pool, instance. */
export const TICK_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return 'NOEPOCH' end
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
redis.call('PUBLISH', ARGV[1], '{"pool":"' .. ARGV[2] .. '","kind":"tick","epoch":"' .. epoch .. '","seq":' .. seq .. ',"instance":"' .. ARGV[3] .. '"}')
return {epoch, tonumber(seq)}
`;

/** Where a publisher's state stands in the map's history: what an orchestrator must have applied to see it. */
export interface VersionsMark {
  epoch: string;
  seq: number;
}

/** A mark from a script's `{epoch, seq}` reply, if it is one. */
export function markFrom(reply: unknown): VersionsMark | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [epoch, seq] = reply as [unknown, unknown];
  if (
    typeof epoch !== 'string' ||
    !EPOCH.test(epoch) ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq)
  )
    return undefined;
  return { epoch, seq };
}

export function isMark(value: unknown): value is VersionsMark {
  if (typeof value !== 'object' || value === null) return false;
  const { epoch, seq } = value as Record<string, unknown>;
  return markFrom([epoch, seq]) !== undefined;
}
