import MiniSearch from 'minisearch';

/** Longer terms (hashes, base64, URLs run together) are not indexed: nobody types them as a query. */
export const MAX_TERM_CHARS = 64;

const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];

/** The index's term processing, shared with MiniSearch so that what is counted is what is indexed. */
export const processTerm = (term: string): string | null =>
  term === '' || term.length > MAX_TERM_CHARS ? null : term.toLowerCase();

/**
 * Heap bytes the index spends, measured on Node 24 with MiniSearch 7.2 (see docs/decisions.md): a
 * term new to the index (its radix-tree node, its per-field maps, and this budget's own count of it),
 * a posting (one term in one field of one note), a note (its MiniSearch entries and the index's record
 * of it, plus its strings), and a link. Rounded up, so the estimate errs on the side of memory.
 */
export const COST = { term: 720, posting: 72, note: 1200, link: 160, char: 2 };

export type Fields = Record<string, string>;

/** What admitting one note would cost: its own bytes, and the terms it adds that no note has yet. */
export interface Measure {
  /** Every distinct term of the note, across fields. */
  terms: string[];
  ownBytes: number;
  newTerms: number;
}

/**
 * Keeps the search index within a byte budget. It counts every term's notes, so it knows which terms
 * of a note are new to the index (a new term costs ten times a posting) and which go with a note
 * that leaves; the estimate is that count, the postings and the notes, each at its measured cost.
 */
export class IndexBudget {
  readonly maxBytes: number;
  private readonly noteCount = new Map<string, number>();
  private ownBytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Estimated heap bytes of the index now. */
  get bytes(): number {
    return this.ownBytes + this.noteCount.size * COST.term;
  }

  /** The cost of a note indexed with `fields`, plus `extraBytes` of what is kept beside it (links). */
  measure(fields: Fields, extraBytes: number): Measure {
    const union = new Set<string>();
    let postings = 0;
    for (const text of Object.values(fields)) {
      const distinct = new Set<string>();
      for (const token of tokenize(text)) {
        const term = processTerm(token);
        if (term) distinct.add(term);
      }
      postings += distinct.size;
      for (const term of distinct) union.add(term);
    }
    let newTerms = 0;
    for (const term of union) if (!this.noteCount.has(term)) newTerms += 1;
    return {
      terms: [...union],
      ownBytes: COST.note + postings * COST.posting + extraBytes,
      newTerms,
    };
  }

  /** Whether a note measured so still fits. */
  fits(m: Measure): boolean {
    return this.bytes + m.ownBytes + m.newTerms * COST.term <= this.maxBytes;
  }

  admit(m: Measure): void {
    this.ownBytes += m.ownBytes;
    for (const term of m.terms) this.noteCount.set(term, (this.noteCount.get(term) ?? 0) + 1);
  }

  release(m: Pick<Measure, 'terms' | 'ownBytes'>): void {
    this.ownBytes -= m.ownBytes;
    for (const term of m.terms) {
      const left = (this.noteCount.get(term) ?? 1) - 1;
      if (left === 0) this.noteCount.delete(term);
      else this.noteCount.set(term, left);
    }
  }
}
