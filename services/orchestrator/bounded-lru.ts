/** Characters outside Latin-1 make V8 store a string with two bytes per character. */
const WIDE = /[\u0100-\uffff]/;

/** What a string costs in the JavaScript heap: one byte per character, two when any is beyond Latin-1. */
export const heapBytes = (s: string): number => (WIDE.test(s) ? 2 * s.length : s.length);

/** A Map slot, an entry object and the string headers, beyond the characters themselves. */
const ENTRY_OVERHEAD = 128;

/**
 * A map bounded by the bytes its keys and values occupy (and optionally by entries), least recently
 * used first out. A value larger than `maxEntryBytes` is not kept at all.
 */
export class BoundedLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private readonly maxEntryBytes: number;
  private readonly valueBytes: (value: V) => number;

  constructor(opts: {
    maxBytes: number;
    maxEntries?: number;
    /** Default: a sixteenth of maxBytes, so one value never evicts most of the rest. */
    maxEntryBytes?: number;
    valueBytes: (value: V) => number;
  }) {
    this.maxBytes = opts.maxBytes;
    this.maxEntries = opts.maxEntries ?? Number.POSITIVE_INFINITY;
    this.maxEntryBytes = opts.maxEntryBytes ?? opts.maxBytes / 16;
    this.valueBytes = opts.valueBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` unless it is too large; returns whether it was kept. */
  set(key: string, value: V): boolean {
    this.delete(key);
    if (this.maxEntries === 0) return false;
    const bytes = heapBytes(key) + this.valueBytes(value) + ENTRY_OVERHEAD;
    if (bytes > this.maxEntryBytes || bytes > this.maxBytes) return false;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    while (this.entries.size > this.maxEntries || this.total > this.maxBytes) {
      this.delete(this.entries.keys().next().value as string);
    }
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.total -= entry.bytes;
    this.entries.delete(key);
  }
}
