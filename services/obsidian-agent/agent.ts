import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { POOLS } from '../../platform/pools.ts';
import { createAgentService } from '../kit/agent-service.ts';
import { ConfigError } from '../kit/config.ts';
import type { Logger } from '../kit/logger.ts';
import type { VersionPublisher } from '../kit/version-publisher.ts';
import { obsidianActions } from './actions.ts';
import type { ObsidianConfig } from './config.ts';
import { createObsidianMetrics, type ObsidianMetrics } from './metrics.ts';
import { KeyedLock } from './note-files.ts';
import { NoteIndex } from './search-index.ts';
import { VaultPaths } from './vault-paths.ts';
import { VaultScanner } from './vault-scan.ts';
import { vaultSources } from './sources.ts';
import { VaultVersions } from './vault-versions.ts';

/**
 * The Obsidian agent: the agent contract over one vault folder. `start()` builds the search index
 * before it listens (for at most OBSIDIAN_START_WAIT_MS), then keeps it fresh in the background every
 * OBSIDIAN_REFRESH_INTERVAL_MS.
 */
export async function createObsidianAgent(config: ObsidianConfig) {
  let vaultRoot: string;
  try {
    vaultRoot = (await VaultPaths.open(config.OBSIDIAN_VAULT_PATH)).root;
  } catch (err) {
    throw new ConfigError([
      `OBSIDIAN_VAULT_PATH: not a readable folder: ${(err as Error).message} (got ${JSON.stringify(config.OBSIDIAN_VAULT_PATH)})`,
    ]);
  }
  const agent = createAgentService({
    pool: 'obsidian',
    serviceName: POOLS.obsidian.service,
    config,
    build: ({ registry, log }) => vaultParts(config, vaultRoot, createObsidianMetrics(registry), log),
  });
  const { service } = agent;
  const { paths, index, scanner, fresh, healthDetail, stopWaitingForTheIndex } = agent.parts;
  service.health.register('vault', true, () => {
    const detail = healthDetail();
    return { ok: detail.vault_readable, detail };
  });

  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<unknown> | undefined;
  const refresh = () => {
    // One refresh at a time: a slow disk makes ticks skip rather than pile up.
    refreshing ??= fresh()
      .catch((err: unknown) => service.log.warn({ err }, 'vault refresh failed'))
      .finally(() => (refreshing = undefined));
    return refreshing;
  };
  service.onShutdown('stop the vault refresh', async () => {
    clearInterval(timer);
    await refreshing;
  });

  return {
    service,
    app: agent.app,
    index,
    scanner,
    vaultRoot: paths.root,
    async start(port = config.PORT, host = config.HOST) {
      // The first build reads and parses every note. However large or hostile the vault, start-up
      // waits for it only so long, so that a start always ends within the startup probe's window
      // and never becomes a restart loop; the build goes on in the background.
      const waited = new AbortController();
      // The scan itself (file names and sizes, no content) is quick, and health reports on it.
      await scanner.snapshot().catch(() => undefined);
      await Promise.race([
        refresh(),
        sleep(config.OBSIDIAN_START_WAIT_MS, undefined, { signal: waited.signal }).catch(() => undefined),
      ]);
      waited.abort();
      stopWaitingForTheIndex();
      if (!index.complete)
        service.log.warn(
          { indexed: index.size, wait_ms: config.OBSIDIAN_START_WAIT_MS },
          'serving before the search index is complete; it is built in the background',
        );
      timer = setInterval(refresh, config.OBSIDIAN_REFRESH_INTERVAL_MS);
      timer.unref();
      return agent.start(port, host);
    },
    stop: () => agent.stop(),
  };
}

export type ObsidianAgent = Awaited<ReturnType<typeof createObsidianAgent>>;

/** The vault's paths, scanner and search index, the actions over them, and the heartbeat's detail. */
function vaultParts(config: ObsidianConfig, vaultRoot: string, metrics: ObsidianMetrics, log: Logger) {
  const paths = new VaultPaths(vaultRoot, () => metrics.pathEscapes.inc());
  const scanner = new VaultScanner({
    root: paths.root,
    maxNotes: config.OBSIDIAN_MAX_NOTES,
    intervalMs: config.OBSIDIAN_SCAN_INTERVAL_MS,
  });
  const index = new NoteIndex({
    root: paths.root,
    maxNoteBytes: config.OBSIDIAN_MAX_NOTE_BYTES,
    indexNoteBytes: config.OBSIDIAN_INDEX_NOTE_BYTES,
    // Node sizes its heap to the container's memory (1120 MiB in 2 GiB): a quarter of it by default.
    maxIndexBytes: config.OBSIDIAN_INDEX_MAX_BYTES ?? Math.floor(getHeapStatistics().heap_size_limit / 4),
    onSync: (kind, changed) => {
      metrics.indexRebuilds.inc({ kind });
      metrics.notesIndexed.inc(changed);
      metrics.indexBytes.set(index.bytes);
      metrics.notesWithoutBody.set(index.notesWithoutBody);
    },
  });
  /** Set once start-up stopped waiting for the first build; from then on answers do not wait for it. */
  let startWaitOver = false;
  const fresh = async () => {
    const started = process.hrtime.bigint();
    const scansBefore = scanner.scans;
    const snapshot = await scanner.snapshot();
    if (scanner.scans !== scansBefore)
      metrics.scanDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metrics.notes.set(snapshot.notes.size);
    const synced = index.sync(snapshot);
    if (index.complete || !startWaitOver) {
      await synced;
      return { ...snapshot, complete: true };
    }
    // The first build is still under way (start-up stopped waiting for it): answer from what is
    // indexed so far, under a vault version of its own that moves with every batch and never equals
    // the complete index's, so no partial answer is cached as a whole one.
    synced.catch(() => undefined);
    return { ...snapshot, signature: `partial-${index.size}-${snapshot.signature}`, complete: false };
  };
  metrics.indexMaxBytes.set(index.maxBytes);
  const healthDetail = () => {
    const latest = scanner.latest;
    const withoutBody = index.notesWithoutBody;
    return {
      vault_readable: latest !== undefined && scanner.lastError === undefined,
      notes: latest?.notes.size ?? 0,
      truncated: latest?.truncated ?? false,
      index_bytes: index.bytes,
      index_max_bytes: index.maxBytes,
      index_full: withoutBody > 0,
      notes_without_body: withoutBody,
      index_complete: index.complete,
      index_age_seconds:
        index.syncedAt === undefined ? null : Math.round((Date.now() - index.syncedAt) / 100) / 10,
      ...(scanner.lastError ? { error: scanner.lastError } : {}),
    };
  };
  const versions = new VaultVersions({
    root: paths.root,
    intervalMs: config.OBSIDIAN_SCAN_INTERVAL_MS,
    fresh,
    invalidate: () => scanner.invalidate(),
    log,
  });
  const sources = {
    ...vaultSources({ paths, fresh }),
    publish: (publisher: VersionPublisher) => versions.start(publisher),
    refresh: () => versions.refresh(),
  };
  const actions = obsidianActions({
    paths,
    index,
    fresh,
    changed: () => {
      scanner.invalidate();
      versions.changed();
    },
    lock: new KeyedLock(),
    maxNoteBytes: config.OBSIDIAN_MAX_NOTE_BYTES,
    ttlSeconds: config.OBSIDIAN_CACHE_TTL_SECONDS,
    staleSeconds: config.OBSIDIAN_STALE_IF_ERROR_SECONDS,
    metrics,
  });
  return {
    paths,
    scanner,
    index,
    fresh,
    healthDetail,
    actions,
    sources,
    stopWaitingForTheIndex: () => {
      startWaitOver = true;
    },
  };
}
