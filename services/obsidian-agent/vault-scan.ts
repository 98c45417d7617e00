import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { statKey } from './folder-version.ts';
import { MAX_SEGMENTS } from './vault-paths.ts';

export interface NoteStat {
  /** Vault-relative path. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Changes whenever the file does (inode, size, mtime in nanoseconds). */
  key: string;
}

export interface VaultSnapshot {
  /** Changes whenever a note is added, removed, renamed or modified: the version of vault-wide answers. */
  signature: string;
  notes: Map<string, NoteStat>;
  /** Every folder scanned (vault-relative, "" is the root), with the names of its subfolders. */
  folders: Map<string, string[]>;
  truncated: boolean;
  scannedAt: number;
}

/** Folders deeper than a note path may go (MAX_SEGMENTS) are not looked into. */
const MAX_DEPTH = MAX_SEGMENTS;
// Synchronous lstat is several times faster than the thread pool for many small calls; batches of
// this size keep each pause of the event loop to a millisecond or two.
const STAT_BATCH = 256;

/**
 * Lists every note of the vault with its size and times. Hidden entries and symbolic links are not
 * followed, so a scan never leaves the vault or loops. A scan is reused for `intervalMs` and shared by
 * concurrent callers; `invalidate()` (after a write here) forces the next caller to scan again.
 */
export class VaultScanner {
  private readonly root: string;
  private readonly maxNotes: number;
  private readonly intervalMs: number;
  private generation = 0;
  private last: { snapshot: VaultSnapshot; generation: number } | undefined;
  private inflight: { promise: Promise<VaultSnapshot>; generation: number } | undefined;
  lastError: string | undefined;
  scans = 0;

  constructor(opts: { root: string; maxNotes: number; intervalMs: number }) {
    this.root = opts.root;
    this.maxNotes = opts.maxNotes;
    this.intervalMs = opts.intervalMs;
  }

  invalidate(): void {
    this.generation += 1;
  }

  get latest(): VaultSnapshot | undefined {
    return this.last?.snapshot;
  }

  snapshot(): Promise<VaultSnapshot> {
    const generation = this.generation;
    const last = this.last;
    if (last && last.generation === generation && Date.now() - last.snapshot.scannedAt < this.intervalMs) {
      return Promise.resolve(last.snapshot);
    }
    if (this.inflight?.generation === generation) return this.inflight.promise;
    const promise = this.scan().then(
      (snapshot) => {
        this.lastError = undefined;
        if (!this.last || this.last.snapshot.scannedAt <= snapshot.scannedAt)
          this.last = { snapshot, generation };
        return snapshot;
      },
      (err: unknown) => {
        this.lastError = (err as Error).message;
        throw err;
      },
    );
    const inflight = { promise, generation };
    this.inflight = inflight;
    void promise
      .finally(() => {
        if (this.inflight === inflight) this.inflight = undefined;
      })
      .catch(() => undefined);
    return promise;
  }

  private async scan(): Promise<VaultSnapshot> {
    const startedAt = Date.now();
    this.scans += 1;
    const files: string[] = [];
    const folders = new Map<string, string[]>();
    const queue: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
    let truncated = false;
    while (queue.length > 0) {
      const { rel, depth } = queue.shift()!;
      const entries = await readdir(path.join(this.root, rel), { withFileTypes: true }).catch((err) => {
        if (rel === '') throw err;
        return []; // a folder removed while scanning
      });
      const subfolders: string[] = [];
      folders.set(rel, subfolders);
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
          subfolders.push(entry.name);
          if (depth + 1 < MAX_DEPTH) queue.push({ rel: child, depth: depth + 1 });
          else truncated = true;
        } else if (entry.isFile() && entry.name.endsWith('.md')) {
          if (files.length < this.maxNotes) files.push(child);
          else truncated = true;
        }
      }
    }
    const notes = new Map<string, NoteStat>();
    for (let i = 0; i < files.length; i += 1) {
      if (i % STAT_BATCH === STAT_BATCH - 1) await yieldToRequests();
      const rel = files[i]!;
      // throwIfNoEntry: a note deleted since the folder was read is simply not there.
      const s = lstatSync(path.join(this.root, rel), { bigint: true, throwIfNoEntry: false });
      if (!s?.isFile()) continue;
      notes.set(rel, {
        path: rel,
        size: Number(s.size),
        mtimeMs: Number(s.mtimeMs),
        key: statKey(s),
      });
    }
    const hash = createHash('sha256');
    for (const rel of [...notes.keys()].sort()) hash.update(`${rel}\0${notes.get(rel)!.key}\n`);
    return {
      signature: hash.digest('hex').slice(0, 32),
      notes,
      folders,
      truncated,
      scannedAt: startedAt,
    };
  }
}
