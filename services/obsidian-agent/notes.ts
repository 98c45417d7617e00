import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseDocument, stringify } from 'yaml';

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
}

/** The version of a note's content: what `write` compares `expected_version` with. */
export const contentVersion = (content: string | Buffer): string =>
  createHash('sha256').update(content).digest('hex').slice(0, 32);

const FRONTMATTER = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;
const EMPTY_FRONTMATTER = /^---\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

function splitFrontmatter(content: string): {
  yaml: string | undefined;
  body: string;
} {
  const empty = EMPTY_FRONTMATTER.exec(content);
  if (empty) return { yaml: '', body: content.slice(empty[0].length) };
  const match = FRONTMATTER.exec(content);
  if (!match) return { yaml: undefined, body: content };
  return { yaml: match[1] ?? '', body: content.slice(match[0].length) };
}

function parseFrontmatter(yaml: string): { data: Record<string, unknown> | null; error?: string } {
  if (yaml.trim() === '') return { data: {} };
  // maxAliasCount bounds alias expansion ("billion laughs").
  const doc = parseDocument(yaml, { prettyErrors: false });
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

/** Code and comments hide links and tags: blank them out, keeping line structure. */
function proseOnly(body: string): string {
  return body
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?(?:^\1[^\n]*$|(?![\s\S]))/gm, '')
    .replace(/`[^`\n]*`/g, '')
    .replace(/%%[\s\S]*?%%/g, '')
    .replace(/<!--[\s\S]*?-->/g, '');
}

const WIKILINK = /(!?)\[\[([^[\]\n]+?)\]\]/g;
const MARKDOWN_LINK = /(!?)\[[^\]\n]*\]\(<?([^)\s>]+)>?(?:\s+"[^"\n]*")?\)/g;
const INLINE_TAG = /(?<=^|\s)#([\p{L}\p{N}_\-/]+)/gu;
const HEADING = /^#{1,6}[ \t]+(.+?)[ \t#]*$/gm;

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
  const prose = proseOnly(body);

  const links: NoteLink[] = [];
  for (const m of prose.matchAll(WIKILINK)) links.push(wikilink(m[2]!, m[1] === '!'));
  for (const m of prose.matchAll(MARKDOWN_LINK)) {
    const link = markdownLink(m[2]!, m[1] === '!');
    if (link) links.push(link);
  }

  const tags = new Map<string, string>();
  const addTag = (raw: unknown) => {
    const tag = normaliseTag(raw);
    if (tag && !tags.has(tag.toLowerCase())) tags.set(tag.toLowerCase(), tag);
  };
  for (const t of listField(data.tags ?? data.tag)) addTag(t);
  for (const m of prose.matchAll(INLINE_TAG)) addTag(m[1]);

  const headings = [...prose.matchAll(HEADING)].map((m) => m[1]!);
  const aliases = listField(data.aliases ?? data.alias).filter((a): a is string => typeof a === 'string');
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
    headings,
    aliases,
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
