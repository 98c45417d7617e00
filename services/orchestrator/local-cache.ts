interface Entry {
  json: string;
  expiresAt: number;
}

/**
 * The in-process tier in front of Redis: recently served answers, by cache key, for at most
 * `maxAgeMs` and never past their Redis expiry. Bounded by entries and bytes, least recently used
 * first out. Other instances' refreshes reach it through the invalidation channel.
 */
export class LocalCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;

  constructor(opts: { maxEntries: number; maxBytes: number; maxAgeMs: number }) {
    this.maxEntries = opts.maxEntries;
    this.maxBytes = opts.maxBytes;
    this.maxAgeMs = opts.maxAgeMs;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.json;
  }

  set(key: string, json: string, redisExpiresAt: number, now = Date.now()): void {
    if (this.maxEntries === 0 || json.length > this.maxBytes / 16) return;
    this.delete(key);
    this.entries.set(key, { json, expiresAt: Math.min(redisExpiresAt, now + this.maxAgeMs) });
    this.bytes += json.length;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.bytes -= entry.json.length;
    this.entries.delete(key);
  }
}
