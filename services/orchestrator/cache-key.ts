import canonicalize from 'canonicalize';
import { hash as digest } from 'node:crypto';
import { BoundedLru } from './bounded-lru.ts';

/** Everything that changes an agent's answer. Key order inside `input` does not matter. */
export interface CacheKeyParts {
  pool: string;
  action: string;
  input: unknown;
  /** The version of the moving state the answer depends on (a commit SHA, a note's version). */
  version?: string;
  /** The session's id and version, for tasks that pass session history to the agent. */
  session?: { id: string; version: number };
}

const KEY_SCHEMA_VERSION = 3;
/** A key is 64 hex characters. */
const KEY_BYTES = 64;

/**
 * Cache keys: SHA-256 of the canonical JSON (RFC 8785) of the parts. Hot inputs arrive again and again
 * with the same text, so keys are remembered by their plain JSON text, within `memoBytes` of heap.
 */
export class CacheKeys {
  private readonly memo: BoundedLru<string>;

  constructor(memoBytes: number) {
    this.memo = new BoundedLru<string>({ maxBytes: memoBytes, valueBytes: () => KEY_BYTES });
  }

  get memoBytes(): number {
    return this.memo.bytes;
  }

  key(parts: CacheKeyParts): string {
    const text = JSON.stringify(parts);
    const known = this.memo.get(text);
    if (known !== undefined) return known;
    const key = digest('sha256', canonicalize({ v: KEY_SCHEMA_VERSION, ...parts }) ?? '', 'hex');
    this.memo.set(text, key);
    return key;
  }
}
