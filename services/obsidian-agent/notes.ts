import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { scanMarkdown } from './markdown-scan.ts';

export interface NoteLink {
  /** The linked note as written, without heading or alias (`Folder/Note`, `Note.md`); "" links to this note. */
  target: string;
  heading?: string;
  alias?: string;
  embed: boolean;
  kind: 'wikilink' | 'markdown';
}

export interface ParsedNote {
  title: string;
  frontmatter: Record<string, unknown> | null;
  frontmatter_error?: string;
  body: string;
  links: NoteLink[];
  tags: string[];
  headings: string[];
  aliases: string[];
  /** Links, tags, headings or aliases beyond NOTE_BOUNDS were left out. */
  lists_truncated?: true;
}

/** The version of a note's content: what `write` compares `expected_version` with. */
export const contentVersion = (content: string | Buffer): string =>
  createHash('sha256').update(content).digest('hex').slice(0, 32);

/** Bounds on what one note can cost to parse and to keep, whatever it holds. */
export const NOTE_BOUNDS = {
  /** YAML is parsed only up to this size; larger frontmatter is reported, not read. */
  frontmatterBytes: 8192,
  /** Deepest flow (`[`, `{`) or one-line block (`- - -`) nesting read in frontmatter. */
  frontmatterDepth: 32,
  maxLinks: 2000,
  maxTags: 500,
  maxHeadings: 1000,
  maxAliases: 100,
};

const DELIMITER = /^(?:---|\.\.\.)[ \t]*$/;

/**
 * The frontmatter (the text between a first line `---` and the next line `---` or `...`) and the body
 * after it, found line by line; no frontmatter when the first line is not `---` or none closes it.
 */
export function splitFrontmatter(content: string): { yaml: string | undefined; body: string } {
  const first = /^---\r?\n/.exec(content.slice(0, 5));
  if (!first) return { yaml: undefined, body: content };
  for (let start = first[0].length; start <= content.length;) {
    const nl = content.indexOf('\n', start);
    const end = nl < 0 ? content.length : nl;
    const line = content.slice(start, nl > 0 && content.charCodeAt(nl - 1) === 13 ? nl - 1 : end);
    // Each line is tested once, and the pattern does not backtrack beyond the line's tail.
    if (DELIMITER.test(line)) {
      const yamlEnd = Math.max(first[0].length, start - (content.charCodeAt(start - 2) === 13 ? 2 : 1));
      return { yaml: content.slice(first[0].length, yamlEnd), body: content.slice(nl < 0 ? end : nl + 1) };
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return { yaml: undefined, body: content };
}

/** Characters after which a quote opens a quoted scalar, or a `#` a comment. */
const SCALAR_START = new Set([undefined, 32, 9, 10, 13, 91, 123, 44, 58].map((c) => c ?? -1));

/**
 * The deepest nesting of flow collections (`[`, `{`, outside quoted scalars and comments) or of block
 * collections opened on one line (`- - -`, `? ? ?`): the YAML parser recurses once per level, so a
 * deep document is refused before it is parsed. One pass; a miscount only costs parse time, which the
 * size bound limits anyway.
 */
function nestingDepth(yaml: string): number {
  let deepest = 0;
  let flow = 0;
  let block = 0;
  let quote = 0;
  let lineStart = true;
  for (let i = 0; i < yaml.length; i += 1) {
    const c = yaml.charCodeAt(i);
    const before = i === 0 ? -1 : yaml.charCodeAt(i - 1);
    if (quote) {
      if (c === quote) quote = 0;
      else if (c === 92 /* \ */ && quote === 34) i += 1;
    } else if (c === 10) {
      lineStart = true;
      block = 0;
    } else if (
      lineStart &&
      (c === 45 || c === 63) &&
      (yaml.charCodeAt(i + 1) === 32 || yaml.charCodeAt(i + 1) === 9)
    ) {
      deepest = Math.max(deepest, (block += 1));
      i += 1;
    } else {
      if (c !== 32 && c !== 9) lineStart = false;
      if ((c === 34 || c === 39) && SCALAR_START.has(before)) quote = c;
      else if (c === 35 && SCALAR_START.has(before)) {
        const nl = yaml.indexOf('\n', i);
        if (nl < 0) break;
        i = nl - 1;
      } else if (c === 91 || c === 123) deepest = Math.max(deepest, (flow += 1));
      else if ((c === 93 || c === 125) && flow > 0) flow -= 1;
    }
  }
  return deepest;
}

function parseFrontmatter(yaml: string): { data: Record<string, unknown> | null; error?: string } {
  if (yaml.trim() === '') return { data: {} };
  const bytes = Buffer.byteLength(yaml);
  if (bytes > NOTE_BOUNDS.frontmatterBytes)
    return {
      data: null,
      error: `frontmatter too large to read (${bytes} bytes; at most ${NOTE_BOUNDS.frontmatterBytes})`,
    };
  if (nestingDepth(yaml) > NOTE_BOUNDS.frontmatterDepth)
    return { data: null, error: `frontmatter nested deeper than ${NOTE_BOUNDS.frontmatterDepth} levels` };
  // uniqueKeys: false, because the duplicate-key check is quadratic in the number of keys (the last
  // one wins); maxAliasCount bounds alias expansion ("billion laughs").
  const doc = parseDocument(yaml, { prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) return { data: null, error: doc.errors[0]!.message.split('\n')[0]! };
  try {
    const data: unknown = doc.toJS({ maxAliasCount: 50 });
    if (data === null || typeof data !== 'object' || Array.isArray(data))
      return { data: null, error: 'frontmatter is not a mapping' };
    return { data: data as Record<string, unknown> };
  } catch (err) {
    return { data: null, error: (err as Error).message };
  }
}

function wikilink(inner: string, embed: boolean): NoteLink {
  const bar = inner.indexOf('|');
  const ref = bar < 0 ? inner : inner.slice(0, bar);
  const alias = bar < 0 ? undefined : inner.slice(bar + 1).trim();
  const hash = ref.indexOf('#');
  const target = (hash < 0 ? ref : ref.slice(0, hash)).trim();
  const heading = hash < 0 ? undefined : ref.slice(hash + 1).trim();
  return {
    target,
    ...(heading ? { heading } : {}),
    ...(alias ? { alias } : {}),
    embed,
    kind: 'wikilink',
  };
}

function markdownLink(href: string, embed: boolean): NoteLink | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(href);
  } catch {
    return undefined;
  }
  const hash = decoded.indexOf('#');
  const target = hash < 0 ? decoded : decoded.slice(0, hash);
  const heading = hash < 0 ? undefined : decoded.slice(hash + 1);
  const ext = path.posix.extname(target);
  if (ext !== '' && ext !== '.md') return undefined;
  return { target, ...(heading ? { heading } : {}), embed, kind: 'markdown' };
}

/** Tags as Obsidian reads them: at least one character that is not a digit. */
const normaliseTag = (raw: unknown): string | undefined => {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const tag = String(raw).trim().replace(/^#/, '');
  return tag !== '' && /[^\d/]/.test(tag) && !/\s/.test(tag) ? tag : undefined;
};

function listField(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(/[,\s]+/);
  return value === undefined || value === null ? [] : [value];
}

/** Parses a note's Markdown: frontmatter, body, outgoing links, tags (frontmatter and inline), headings. */
export function parseNote(relPath: string, content: string): ParsedNote {
  const { yaml, body } = splitFrontmatter(content);
  const fm = yaml === undefined ? { data: null } : parseFrontmatter(yaml);
  const data = fm.data ?? {};
  const scan = scanMarkdown(body, NOTE_BOUNDS);
  let truncated = scan.truncated;

  const links: NoteLink[] = [];
  for (const raw of scan.links) {
    const link = raw.kind === 'wikilink' ? wikilink(raw.text, raw.embed) : markdownLink(raw.text, raw.embed);
    if (link) links.push(link);
  }

  const tags = new Map<string, string>();
  const addTag = (raw: unknown) => {
    const tag = normaliseTag(raw);
    if (!tag || tags.has(tag.toLowerCase())) return;
    if (tags.size >= NOTE_BOUNDS.maxTags) truncated = true;
    else tags.set(tag.toLowerCase(), tag);
  };
  for (const t of listField(data.tags ?? data.tag)) addTag(t);
  for (const t of scan.tags) addTag(t);

  const allAliases = listField(data.aliases ?? data.alias).filter((a): a is string => typeof a === 'string');
  if (allAliases.length > NOTE_BOUNDS.maxAliases) truncated = true;
  const title =
    typeof data.title === 'string' && data.title.trim() !== ''
      ? data.title.trim()
      : path.posix.basename(relPath, '.md');

  return {
    title,
    frontmatter: fm.data,
    ...(fm.error ? { frontmatter_error: fm.error } : {}),
    body,
    links,
    tags: [...tags.values()],
    headings: scan.headings,
    aliases: allAliases.slice(0, NOTE_BOUNDS.maxAliases),
    ...(truncated ? { lists_truncated: true } : {}),
  };
}

/** The Markdown text of a note with `frontmatter` (when given) in front of `body`. */
export function composeNote(body: string, frontmatter?: Record<string, unknown>): string {
  if (!frontmatter) return body;
  return `---\n${stringify(frontmatter)}---\n${body}`;
}

/** Whether note `tags` carry `wanted` (case-insensitive; a nested tag `a/b` also carries `a`). */
export function hasTag(tags: string[], wanted: string): boolean {
  const w = wanted.toLowerCase();
  return tags.some((t) => {
    const l = t.toLowerCase();
    return l === w || l.startsWith(`${w}/`);
  });
}
