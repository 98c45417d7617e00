import MiniSearch from 'minisearch';
import path from 'node:path';
import { Problem } from '../kit/problem.ts';
import { hasTag, parseNote, type NoteLink } from './notes.ts';
import { readNoteFile } from './note-files.ts';
import type { VaultSnapshot } from './vault-scan.ts';

interface IndexedNote {
  path: string;
  key: string;
  title: string;
  tags: string[];
  links: NoteLink[];
  mtimeMs: number;
}

interface SearchDocument {
  id: string;
  title: string;
  aliases: string;
  tags: string;
  headings: string;
  body: string;
}

export interface SearchQuery {
  query?: string;
  tags?: string[];
  match: 'all' | 'any';
  limit: number;
  offset: number;
}

const READ_BATCH = 16;
const SNIPPET_CHARS = 160;

/**
 * The search index and link graph of the vault, brought up to date from a scan: only notes whose
 * file changed are read and parsed again, so keeping it fresh costs work in proportion to the change.
 */
export class NoteIndex {
  private readonly root: string;
  private readonly maxNoteBytes: number;
  private readonly onSync: (kind: 'full' | 'incremental', changed: number) => void;
  private readonly notes = new Map<string, IndexedNote>();
  private search_ = NoteIndex.emptySearch();
  private byName: Map<string, string[]> | undefined;
  private linkedFrom: Map<string, Map<string, number>> | undefined;
  private syncing: { signature: string; promise: Promise<void> } | undefined;
  signature: string | undefined;
  /** When the index last matched a scan of the vault. */
  syncedAt: number | undefined;
  /** Notes read and parsed by syncs so far (tests check that a small change re-reads little). */
  parsed = 0;

  constructor(opts: {
    root: string;
    maxNoteBytes: number;
    onSync: (kind: 'full' | 'incremental', changed: number) => void;
  }) {
    this.root = opts.root;
    this.maxNoteBytes = opts.maxNoteBytes;
    this.onSync = opts.onSync;
  }

  private static emptySearch() {
    return new MiniSearch<SearchDocument>({
      fields: ['title', 'aliases', 'tags', 'headings', 'body'],
      storeFields: [],
      searchOptions: {
        boost: { title: 4, aliases: 3, tags: 2, headings: 1.5, body: 1 },
        prefix: (term) => term.length >= 3,
        fuzzy: (term) => (term.length >= 5 ? 0.15 : false),
        maxFuzzy: 2,
      },
    });
  }

  get size(): number {
    return this.notes.size;
  }

  /** Brings the index to `snapshot`; concurrent callers for the same snapshot share one sync. */
  sync(snapshot: VaultSnapshot): Promise<void> {
    if (snapshot.signature === this.signature) {
      this.syncedAt = Math.max(this.syncedAt ?? 0, snapshot.scannedAt);
      return Promise.resolve();
    }
    if (this.syncing?.signature === snapshot.signature) return this.syncing.promise;
    const previous = this.syncing?.promise.catch(() => undefined) ?? Promise.resolve();
    const promise = previous.then(() => this.apply(snapshot));
    const syncing = { signature: snapshot.signature, promise };
    this.syncing = syncing;
    void promise
      .finally(() => {
        if (this.syncing === syncing) this.syncing = undefined;
      })
      .catch(() => undefined);
    return promise;
  }

  private async apply(snapshot: VaultSnapshot): Promise<void> {
    if (snapshot.signature === this.signature) return;
    const full = this.signature === undefined;
    for (const p of [...this.notes.keys()]) {
      if (!snapshot.notes.has(p)) {
        this.search_.discard(p);
        this.notes.delete(p);
      }
    }
    const changed = [...snapshot.notes.values()].filter((s) => this.notes.get(s.path)?.key !== s.key);
    for (let i = 0; i < changed.length; i += READ_BATCH) {
      await Promise.all(
        changed.slice(i, i + READ_BATCH).map(async (stat) => {
          let text: string;
          try {
            ({ text } = await readNoteFile(path.join(this.root, stat.path), this.maxNoteBytes));
          } catch (err) {
            if (err instanceof Problem || (err as NodeJS.ErrnoException).code) text = '';
            else throw err;
          }
          this.parsed += 1;
          const note = parseNote(stat.path, text);
          const doc: SearchDocument = {
            id: stat.path,
            title: note.title,
            aliases: note.aliases.join(' '),
            tags: note.tags.join(' '),
            headings: note.headings.join('\n'),
            body: note.body,
          };
          if (this.notes.has(stat.path)) this.search_.replace(doc);
          else this.search_.add(doc);
          this.notes.set(stat.path, {
            path: stat.path,
            key: stat.key,
            title: note.title,
            tags: note.tags,
            links: note.links,
            mtimeMs: stat.mtimeMs,
          });
        }),
      );
    }
    this.byName = undefined;
    this.linkedFrom = undefined;
    this.signature = snapshot.signature;
    this.syncedAt = snapshot.scannedAt;
    this.onSync(full ? 'full' : 'incremental', changed.length);
  }

  /** Ranked results for a text query and/or tags, one page of them, with the total. */
  async search(q: SearchQuery) {
    const tagged = (p: string) => (q.tags ?? []).every((t) => hasTag(this.notes.get(p)?.tags ?? [], t));
    let hits: Array<{ path: string; score: number; terms: string[] }>;
    if (q.query !== undefined && q.query.trim() !== '') {
      hits = this.search_
        .search(q.query, { combineWith: q.match === 'all' ? 'AND' : 'OR', filter: (r) => tagged(r.id) })
        .map((r) => ({ path: String(r.id), score: Math.round(r.score * 1000) / 1000, terms: r.terms }));
    } else {
      hits = [...this.notes.keys()]
        .filter(tagged)
        .sort()
        .map((p) => ({ path: p, score: 0, terms: [] }));
    }
    const page = hits.slice(q.offset, q.offset + q.limit);
    const results = await Promise.all(
      page.map(async (hit) => {
        const note = this.notes.get(hit.path)!;
        return {
          path: hit.path,
          title: note.title,
          tags: note.tags,
          score: hit.score,
          snippet: await this.snippet(hit.path, hit.terms),
        };
      }),
    );
    return { total: hits.length, offset: q.offset, limit: q.limit, results };
  }

  private async snippet(rel: string, terms: string[]): Promise<string> {
    let body: string;
    try {
      body = parseNote(rel, (await readNoteFile(path.join(this.root, rel), this.maxNoteBytes)).text).body;
    } catch {
      return '';
    }
    const lower = body.toLowerCase();
    const at = terms.reduce((best, t) => {
      const i = lower.indexOf(t.toLowerCase());
      return i >= 0 && (best < 0 || i < best) ? i : best;
    }, -1);
    const start = Math.max(0, at - SNIPPET_CHARS / 4);
    return body
      .slice(start, start + SNIPPET_CHARS)
      .replace(/\s+/g, ' ')
      .trim();
  }

  /** The note a link in `from` leads to, as Obsidian resolves it: a vault path, else the nearest same-named note. */
  resolveLink(from: string, link: NoteLink): string | undefined {
    if (link.target === '') return undefined;
    const target = link.target.endsWith('.md') ? link.target.slice(0, -3) : link.target;
    if (link.kind === 'markdown') {
      const rel = path.posix.normalize(path.posix.join(path.posix.dirname(from), `${target}.md`));
      if (this.notes.has(rel)) return rel;
    }
    const byName = this.names();
    const lowered = target.toLowerCase();
    if (target.includes('/')) {
      const exact = byName.get(`path:${lowered}`);
      if (exact) return exact[0];
    }
    const candidates = byName.get(`name:${path.posix.basename(lowered)}`);
    if (!candidates) return undefined;
    if (target.includes('/')) {
      return candidates.find((c) => c.toLowerCase().endsWith(`/${lowered}.md`));
    }
    const folder = path.posix.dirname(from);
    return candidates.find((c) => path.posix.dirname(c) === folder) ?? candidates[0];
  }

  private names(): Map<string, string[]> {
    if (this.byName) return this.byName;
    const map = new Map<string, string[]>();
    const add = (k: string, p: string) => map.set(k, [...(map.get(k) ?? []), p]);
    // Shortest path first: Obsidian prefers the note nearest the vault root for a bare name.
    const sorted = [...this.notes.keys()].sort(
      (a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1),
    );
    for (const p of sorted) {
      const lower = p.toLowerCase().slice(0, -3);
      add(`path:${lower}`, p);
      add(`name:${path.posix.basename(lower)}`, p);
    }
    this.byName = map;
    return map;
  }

  /** Notes that link to `target`, with how many links each has to it. */
  backlinks(target: string): Array<{ path: string; title: string; count: number }> {
    const sources = this.reverseLinks().get(target) ?? new Map<string, number>();
    return [...sources]
      .filter(([source]) => source !== target)
      .map(([source, count]) => ({ path: source, title: this.notes.get(source)!.title, count }))
      .sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1));
  }

  /** Target -> (source -> links), built once per vault version, so each backlinks call is a lookup. */
  private reverseLinks(): Map<string, Map<string, number>> {
    if (this.linkedFrom) return this.linkedFrom;
    const map = new Map<string, Map<string, number>>();
    for (const note of this.notes.values()) {
      for (const link of note.links) {
        const target = this.resolveLink(note.path, link);
        if (!target) continue;
        const sources = map.get(target) ?? new Map<string, number>();
        sources.set(note.path, (sources.get(note.path) ?? 0) + 1);
        map.set(target, sources);
      }
    }
    this.linkedFrom = map;
    return map;
  }

  has(rel: string): boolean {
    return this.notes.has(rel);
  }
}
