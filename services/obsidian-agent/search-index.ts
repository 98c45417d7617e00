import MiniSearch from 'minisearch';
import path from 'node:path';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { Problem } from '../kit/problem.ts';
import { COST, IndexBudget, processTerm, type Measure } from './index-budget.ts';
import { hasTag, parseNote, splitFrontmatter, type NoteLink, type ParsedNote } from './notes.ts';
import { readNoteFile } from './note-files.ts';
import type { VaultSnapshot } from './vault-scan.ts';

/**
 * How much of a note the index holds: all of it (its body up to the per-note prefix), its metadata
 * (title, aliases, tags, headings, links) once the byte budget has no room for its body, or, when not
 * even that fits, its title, aliases and tags.
 */
export type IndexedContent = 'full' | 'metadata' | 'title';

interface IndexedNote {
  path: string;
  key: string;
  title: string;
  tags: string[];
  links: NoteLink[];
  mtimeMs: number;
  content: IndexedContent;
  cost: Pick<Measure, 'terms' | 'ownBytes'>;
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

/** The first `bytes` bytes of `text` (UTF-8), cut before a character they would split. */
function utf8Prefix(text: string, bytes: number): string {
  if (text.length * 3 <= bytes) return text;
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= bytes
    ? text
    : buf
        .subarray(0, bytes)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}

/**
 * The note parsed, or, should parsing ever throw, the note with its title alone: one note must never
 * stop the index (and a start, which builds it) for the whole vault.
 */
function parsedOrBare(rel: string, text: string): ParsedNote {
  try {
    return parseNote(rel, text);
  } catch {
    return parseNote(rel, '');
  }
}

/** Bytes of a link as the index keeps it. */
const linkBytes = (l: NoteLink) =>
  COST.link + COST.char * (l.target.length + (l.heading?.length ?? 0) + (l.alias?.length ?? 0));

/**
 * The search index and link graph of the vault, brought up to date from a scan: only notes whose
 * file changed are read and parsed again, so keeping it fresh costs work in proportion to the change.
 * Its heap use is held within a byte budget (IndexBudget): each note's body is indexed up to a prefix,
 * and notes beyond the budget are indexed by their metadata only.
 */
export class NoteIndex {
  private readonly root: string;
  private readonly maxNoteBytes: number;
  private readonly indexNoteBytes: number;
  private readonly budget: IndexBudget;
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
    /** Bytes of each note's body that are full-text indexed. */
    indexNoteBytes: number;
    /** Estimated heap bytes the index may hold. */
    maxIndexBytes: number;
    onSync: (kind: 'full' | 'incremental', changed: number) => void;
  }) {
    this.root = opts.root;
    this.maxNoteBytes = opts.maxNoteBytes;
    this.indexNoteBytes = opts.indexNoteBytes;
    this.budget = new IndexBudget(opts.maxIndexBytes);
    this.onSync = opts.onSync;
  }

  /** Estimated heap bytes of the index, and its budget. */
  get bytes(): number {
    return this.budget.bytes;
  }

  get maxBytes(): number {
    return this.budget.maxBytes;
  }

  /** Notes the index holds without their body (the budget had no room for it). */
  get notesWithoutBody(): number {
    let n = 0;
    for (const note of this.notes.values()) if (note.content !== 'full') n += 1;
    return n;
  }

  private static emptySearch() {
    return new MiniSearch<SearchDocument>({
      fields: ['title', 'aliases', 'tags', 'headings', 'body'],
      storeFields: [],
      processTerm,
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

  /** Whether the index has matched a whole scan of the vault at least once (the first build is over). */
  get complete(): boolean {
    return this.signature !== undefined;
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
      if (!snapshot.notes.has(p)) this.remove(p);
    }
    // In path order, so which notes the budget holds in full does not depend on the disk's order.
    const changed = [...snapshot.notes.values()]
      .filter((s) => this.notes.get(s.path)?.key !== s.key)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (let i = 0; i < changed.length; i += READ_BATCH) {
      const batch = changed.slice(i, i + READ_BATCH);
      const texts = await Promise.all(batch.map((stat) => this.readText(stat.path)));
      for (const [j, stat] of batch.entries()) {
        this.parsed += 1;
        this.remove(stat.path);
        this.add(stat, texts[j]!);
        // One note at a time: requests are answered between notes, however many there are.
        await yieldToRequests();
      }
      // Backlinks may be asked for while a first build is still under way: they see each batch.
      this.byName = undefined;
      this.linkedFrom = undefined;
    }
    this.byName = undefined;
    this.linkedFrom = undefined;
    this.signature = snapshot.signature;
    this.syncedAt = snapshot.scannedAt;
    this.onSync(full ? 'full' : 'incremental', changed.length);
  }

  private async readText(rel: string): Promise<string> {
    try {
      return (await readNoteFile(path.join(this.root, rel), this.maxNoteBytes)).text;
    } catch (err) {
      if (err instanceof Problem || (err as NodeJS.ErrnoException).code) return '';
      throw err;
    }
  }

  private remove(rel: string): void {
    const old = this.notes.get(rel);
    if (!old) return;
    this.search_.discard(rel);
    this.budget.release(old.cost);
    this.notes.delete(rel);
  }

  /** Indexes one note as fully as the budget allows. */
  private add(stat: { path: string; key: string; mtimeMs: number }, text: string): void {
    const note = parsedOrBare(stat.path, text);
    const base = {
      title: note.title,
      aliases: note.aliases.join(' '),
      tags: note.tags.join(' '),
    };
    const strings =
      COST.char * (2 * stat.path.length + stat.key.length + note.title.length + note.tags.join('').length);
    const links = note.links.reduce((sum, l) => sum + linkBytes(l), 0);
    const tiers: Array<[IndexedContent, SearchDocument, number, NoteLink[]]> = [
      [
        'full',
        {
          id: stat.path,
          ...base,
          headings: note.headings.join('\n'),
          body: utf8Prefix(note.body, this.indexNoteBytes),
        },
        links,
        note.links,
      ],
      [
        'metadata',
        { id: stat.path, ...base, headings: note.headings.join('\n'), body: '' },
        links,
        note.links,
      ],
      ['title', { id: stat.path, ...base, headings: '', body: '' }, 0, []],
    ];
    for (const [content, doc, linkCost, kept] of tiers) {
      const { id: _id, ...fields } = doc;
      const cost = this.budget.measure(fields, strings + linkCost);
      // The last tier is always held: a title, its aliases and tags are small and bounded per note.
      if (content !== 'title' && !this.budget.fits(cost)) continue;
      this.search_.add(doc);
      this.budget.admit(cost);
      this.notes.set(stat.path, this.record(stat, note, kept, content, cost));
      return;
    }
  }

  private record(
    stat: { path: string; key: string; mtimeMs: number },
    note: ParsedNote,
    links: NoteLink[],
    content: IndexedContent,
    cost: Measure,
  ): IndexedNote {
    return {
      path: stat.path,
      key: stat.key,
      title: note.title,
      tags: note.tags,
      links,
      mtimeMs: stat.mtimeMs,
      content,
      cost: { terms: cost.terms, ownBytes: cost.ownBytes },
    };
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
      body = splitFrontmatter((await readNoteFile(path.join(this.root, rel), this.maxNoteBytes)).text).body;
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
