import { lstatSync, statSync, watch, type FSWatcher } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { Logger } from '../kit/logger.ts';
import { Problem } from '../kit/problem.ts';
import type { VersionPublisher } from '../kit/version-publisher.ts';
import { sourceId } from '../kit/versions.ts';
import type { GitRunner } from './git.ts';
import { FOR_EACH_REF_FORMAT, parseForEachRef, revisionNames } from './ref-names.ts';
import { listVersion, type Repo, type Repos } from './repos.ts';
import { repoKind } from './sources.ts';

/** Events are gathered this long before the refs are read again (git writes a lock, then renames it). */
const DEBOUNCE_MS = 20;
/** A busy git runner is asked again after this long. */
const BUSY_RETRY_MS = 100;
/** Most files and folders under refs/ looked at by one fingerprint. */
const MAX_FINGERPRINT_ENTRIES = 20000;

interface Watched {
  repo: Repo;
  watchers: FSWatcher[];
  fingerprint: string;
  /** This repository's entries: source id -> version. */
  entries: Map<string, string>;
  timer: NodeJS.Timeout | undefined;
  refreshing: boolean;
  again: boolean;
}

/**
 * Keeps the pool's published versions equal to the repositories' refs: each repository's HEAD, loose
 * refs and packed-refs are watched (fs.watch), and a change reads its refs again with one
 * `git for-each-ref` (a process per change, never per request). A bounded periodic check compares
 * cheap fingerprints (stat of HEAD, packed-refs and the files under refs/) to catch what a watcher
 * misses, such as changes made by another host on a network volume.
 */
export function publishRefs(deps: {
  repos: Repos;
  git: GitRunner;
  recheckMs: number;
  maxRefs: number;
  log: Logger;
}): (publisher: VersionPublisher) => () => void {
  const { repos, git, log } = deps;
  return (publisher) => {
    const watched = new Map<string, Watched>();
    const abort = new AbortController();
    let list: Repo[] = [];
    let listed = '';
    let stopped = false;
    /** The first check has read every repository: until then nothing is published (no partial map). */
    let initialized = false;
    let rootWatcher: FSWatcher | undefined;

    const publish = () => {
      if (!initialized) return;
      const state = new Map<string, string>([[sourceId('repos'), listVersion(list)]]);
      for (const w of watched.values()) for (const [id, version] of w.entries) state.set(id, version);
      publisher.replace(state);
    };

    const refresh = async (w: Watched): Promise<void> => {
      if (w.refreshing) {
        w.again = true;
        return;
      }
      w.refreshing = true;
      try {
        do {
          w.again = false;
          // Taken first: a change while git runs shows at the next check.
          w.fingerprint = await fingerprint(w.repo.gitDir);
          const entries = await readRefs(w.repo);
          if (stopped || watched.get(w.repo.name) !== w) return;
          w.entries = entries;
          publish();
        } while (w.again && !stopped);
      } catch (err) {
        w.fingerprint = ''; // read again at the next check
        if (err instanceof Problem && err.slug === 'git-busy') schedule(w, BUSY_RETRY_MS);
        else if (!stopped) log.warn({ repo: w.repo.name, err: (err as Error).message }, 'refs not read');
      } finally {
        w.refreshing = false;
      }
    };

    const readRefs = async (repo: Repo): Promise<Map<string, string>> => {
      const entries = new Map([[sourceId('repo', [repo.name]), repoKind(repo.bare)]]);
      if (!isDirectory(repo.gitDir)) return entries; // a gitfile: its refs are resolved on request
      const out = await git.run({
        gitDir: repo.gitDir,
        args: ['for-each-ref', `--count=${deps.maxRefs + 1}`, `--format=${FOR_EACH_REF_FORMAT}`],
        signal: abort.signal,
      });
      const records = parseForEachRef(out.stdout.toString('utf8'));
      const complete = records.length <= deps.maxRefs && !out.truncated;
      const head = await readFile(path.join(repo.gitDir, 'HEAD'), 'utf8').catch(() => undefined);
      const names = revisionNames({
        records: records.slice(0, deps.maxRefs),
        complete,
        head: head?.slice(0, 1024),
        isGitDirFile: (name) => isFile(path.join(repo.gitDir, name)),
      });
      for (const [name, commit] of names) entries.set(sourceId('ref', [repo.name, name]), commit);
      return entries;
    };

    const schedule = (w: Watched, ms = DEBOUNCE_MS) => {
      if (w.timer || stopped) return;
      w.timer = setTimeout(() => {
        w.timer = undefined;
        void refresh(w);
      }, ms);
      w.timer.unref();
    };

    const watchRepo = (repo: Repo): Watched => {
      const w: Watched = {
        repo,
        watchers: [],
        fingerprint: '',
        entries: new Map(),
        timer: undefined,
        refreshing: false,
        again: false,
      };
      const onEvent = () => schedule(w);
      const add = (target: string, recursive: boolean, filter?: (name: string) => boolean) => {
        try {
          const watcher = watch(target, { persistent: false, recursive }, (_event, name) => {
            if (!filter || (name !== null && filter(String(name)))) onEvent();
          });
          watcher.on('error', () => watcher.close()); // the periodic check carries on
          w.watchers.push(watcher);
        } catch {
          // No watcher (a missing folder, inotify limits): the periodic check finds the changes.
        }
      };
      if (isDirectory(repo.gitDir)) {
        add(repo.gitDir, false, (name) => name.startsWith('HEAD') || name.startsWith('packed-refs'));
        add(path.join(repo.gitDir, 'refs'), true);
      }
      return w;
    };

    const unwatch = (w: Watched) => {
      clearTimeout(w.timer);
      for (const watcher of w.watchers) watcher.close();
    };

    /** Brings the watched set to the repositories under the root, then checks every fingerprint. */
    const check = async () => {
      try {
        list = await repos.list();
      } catch {
        list = [];
      }
      if (stopped) return;
      const names = new Set(list.map((r) => r.name));
      for (const [name, w] of watched) {
        const now = list.find((r) => r.name === name);
        if (!names.has(name) || now?.gitDir !== w.repo.gitDir) {
          unwatch(w);
          watched.delete(name);
        }
      }
      const changed: Watched[] = [];
      for (const repo of list) {
        let w = watched.get(repo.name);
        if (!w) watched.set(repo.name, (w = watchRepo(repo)));
        if (w.fingerprint === '' || w.fingerprint !== (await fingerprint(repo.gitDir))) changed.push(w);
      }
      const version = listVersion(list);
      const first = !initialized;
      if (version !== listed && !first) {
        listed = version;
        publish();
      }
      await Promise.all(changed.map(refresh));
      if (first && !stopped) {
        initialized = true;
        listed = version;
        publish();
      }
    };

    let checking: Promise<void> | undefined;
    const checkOnce = () => {
      checking ??= check().finally(() => (checking = undefined));
      return checking;
    };
    try {
      rootWatcher = watch(repos.root, { persistent: false }, () => void checkOnce());
      rootWatcher.on('error', () => rootWatcher?.close());
    } catch {
      // the periodic check lists the root
    }
    const listTimer = setInterval(() => void checkOnce(), deps.recheckMs);
    listTimer.unref();
    void checkOnce();

    return () => {
      stopped = true;
      abort.abort();
      clearInterval(listTimer);
      rootWatcher?.close();
      for (const w of watched.values()) unwatch(w);
    };
  };
}

function isDirectory(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

/**
 * Changes whenever a ref may have: HEAD, packed-refs and every entry under refs/, by inode and times
 * (git writes a lock file and renames it over the ref, so an update always brings a new inode).
 * Synchronous stats are much cheaper than the thread pool here; the walk yields between batches.
 */
async function fingerprint(gitDir: string): Promise<string> {
  const parts: string[] = [];
  const note = (p: string) => {
    const s = lstatSync(p, { bigint: true, throwIfNoEntry: false });
    parts.push(s ? `${p}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : `${p}:-`);
    return s;
  };
  note(path.join(gitDir, 'HEAD'));
  note(path.join(gitDir, 'packed-refs'));
  const folders = [path.join(gitDir, 'refs')];
  while (folders.length > 0 && parts.length < MAX_FINGERPRINT_ENTRIES) {
    const folder = folders.pop()!;
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names.slice(0, MAX_FINGERPRINT_ENTRIES - parts.length)) {
      const full = path.join(folder, name);
      if (note(full)?.isDirectory()) folders.push(full);
    }
    await yieldToRequests();
  }
  return parts.join('\n');
}
