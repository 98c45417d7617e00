import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../kit/logger.ts';
import type { VersionPublisher } from '../kit/version-publisher.ts';
import { snapshotVersions } from './sources.ts';
import type { VaultSnapshot } from './vault-scan.ts';

/** File events are gathered this long before the vault is scanned again. */
const DEBOUNCE_MS = 30;

/**
 * Keeps the pool's published versions equal to the vault: every note's state, every folder listing's
 * version and the vault signature, from the same scans the actions use. A change (this instance's
 * write, or any edit on disk seen by a recursive fs.watch) rescans at once; a periodic scan every
 * OBSIDIAN_SCAN_INTERVAL_MS catches what a watcher misses (another host writing to a network volume).
 */
export class VaultVersions {
  private publisher: VersionPublisher | undefined;
  private last: VaultSnapshot | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private debounce: NodeJS.Timeout | undefined;
  private readonly root: string;
  private readonly intervalMs: number;
  /** A scan no older than the scan interval, with the search index brought up to it. */
  private readonly fresh: () => Promise<VaultSnapshot>;
  /** Makes the next `fresh()` scan again. */
  private readonly invalidate: () => void;
  private readonly log: Logger;

  constructor(deps: {
    root: string;
    intervalMs: number;
    fresh: () => Promise<VaultSnapshot>;
    invalidate: () => void;
    log: Logger;
  }) {
    this.root = deps.root;
    this.intervalMs = deps.intervalMs;
    this.fresh = deps.fresh;
    this.invalidate = deps.invalidate;
    this.log = deps.log;
  }

  /** Something in the vault changed: scan again soon and publish what moved. */
  changed(): void {
    if (!this.publisher || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.invalidate();
      void this.update();
    }, DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** Scans now and hands the publisher the result (after this instance changed a note). */
  async refresh(): Promise<void> {
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.invalidate();
    await this.update();
  }

  start(publisher: VersionPublisher): () => void {
    this.publisher = publisher;
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(this.root, { recursive: true, persistent: false }, (_event, name) => {
        // Lock and temporary files are hidden; the rename that completes a write names the note.
        if (
          name === null ||
          !String(name)
            .split('/')
            .some((s) => s.startsWith('.'))
        )
          this.changed();
      });
      watcher.on('error', (err) => {
        this.log.warn({ err: err.message }, 'vault watcher failed; changes are found by the periodic scan');
        watcher?.close();
      });
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'vault not watched; changes are found by the periodic scan',
      );
    }
    const timer = setInterval(() => void this.update(), Math.max(this.intervalMs, 100));
    timer.unref();
    void this.update();
    return () => {
      this.publisher = undefined;
      clearInterval(timer);
      clearTimeout(this.debounce);
      watcher?.close();
    };
  }

  /** Publishes the latest scan; a call during a pass makes that pass run once more, and waits for it. */
  private update(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      do {
        this.again = false;
        const snapshot = await this.fresh();
        if (snapshot !== this.last && this.publisher) {
          this.last = snapshot;
          this.publisher.replace(snapshotVersions(snapshot));
        }
      } while (this.again && this.publisher);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'vault versions not updated');
    }
  }
}
