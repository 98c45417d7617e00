import { BoundedLru, heapBytes } from './bounded-lru.ts';

interface Entry {
  json: string;
  expiresAt: number;
}

/**
 * The in-process tier in front of Redis: recently served answers, by cache key, for at most
 * `maxAgeMs` and never past their freshness in Redis. Bounded by the bytes the answers occupy in the
 * heap and by entries, least recently used first out. Other instances' refreshes reach it through the
 * invalidation channel.
 */
export class LocalCache {
  private readonly entries: BoundedLru<Entry>;
  private readonly maxAgeMs: number;

  constructor(opts: { maxEntries: number; maxBytes: number; maxAgeMs: number }) {
    this.maxAgeMs = opts.maxAgeMs;
    this.entries = new BoundedLru<Entry>({
      maxBytes: opts.maxBytes,
      maxEntries: opts.maxEntries,
      valueBytes: (entry) => heapBytes(entry.json),
    });
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.entries.bytes;
  }

  get(key: string, now = Date.now()): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.json;
  }

  set(key: string, json: string, freshUntil: number, now = Date.now()): void {
    this.entries.set(key, { json, expiresAt: Math.min(freshUntil, now + this.maxAgeMs) });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
