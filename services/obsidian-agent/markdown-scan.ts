/**
 * Obsidian Markdown read in single passes, each linear in the note's length: no backtracking
 * regular expression sees the note (the ones that did took minutes on hostile notes of 512 KiB).
 * Every loop below only moves forward, or jumps past text it has just examined and will not examine
 * again; the one regular expression left (a letter beyond ASCII in a tag) reads one character.
 */

export interface RawLink {
  /** The wikilink's inner text (`Note#Heading|alias`), or the Markdown link's href. */
  text: string;
  embed: boolean;
  kind: 'wikilink' | 'markdown';
}

export interface MarkdownScan {
  links: RawLink[];
  /** Inline `#tags` as first written (one per tag, case-insensitively), without the `#`. */
  tags: string[];
  headings: string[];
  /** A list reached its bound and the rest of that kind was not collected. */
  truncated: boolean;
}

export interface ScanBounds {
  maxLinks: number;
  maxTags: number;
  maxHeadings: number;
}

/** Where the line that `from` is on ends: its `\n`, or the end of the text. */
const lineEnd = (s: string, from: number) => {
  const nl = s.indexOf('\n', from);
  return nl < 0 ? s.length : nl;
};

/**
 * The text without what hides links and tags: fenced code blocks (a line starting with ``` or ~~~
 * up to a line starting with the same fence, or the end), inline `code` (within one line),
 * %% comments %% and <!-- comments --> (an unclosed one runs to the end, as in Obsidian and HTML).
 */
export function proseOnly(body: string): string {
  const kept: string[] = [];
  let keepFrom = 0;
  let i = 0;
  let atLineStart = true;
  let end = 0; // where the current line ends, found once per line
  const drop = (from: number, to: number) => {
    kept.push(body.slice(keepFrom, from));
    keepFrom = to;
    i = to;
    if (i > end) end = lineEnd(body, i); // a comment may end lines later
  };
  while (i < body.length) {
    if (atLineStart) {
      atLineStart = false;
      end = lineEnd(body, i);
      const fence = body.startsWith('```', i) ? '```' : body.startsWith('~~~', i) ? '~~~' : '';
      if (fence && end < body.length) {
        let close = body.length;
        for (let next = end + 1; next < body.length; next = lineEnd(body, next) + 1) {
          if (body.startsWith(fence, next)) {
            close = lineEnd(body, next);
            break;
          }
        }
        drop(i, close);
        continue;
      }
    }
    const c = body.charCodeAt(i);
    if (c === 10 /* \n */) {
      atLineStart = true;
      i += 1;
    } else if (c === 96 /* ` */) {
      // Without a closing backtick on this line there is no other backtick on it either.
      const closing = body.indexOf('`', i + 1);
      if (closing >= 0 && closing < end) drop(i, closing + 1);
      else i += 1;
    } else if (c === 37 /* % */ && body.charCodeAt(i + 1) === 37) {
      const closing = body.indexOf('%%', i + 2);
      drop(i, closing < 0 ? body.length : closing + 2);
    } else if (c === 60 /* < */ && body.startsWith('<!--', i)) {
      const closing = body.indexOf('-->', i + 4);
      drop(i, closing < 0 ? body.length : closing + 3);
    } else {
      i += 1;
    }
  }
  kept.push(body.slice(keepFrom));
  return kept.join('');
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;

/** `[[inner]]` with no `[`, `]` or line break inside, `!` before it for an embed. */
function wikilinks(prose: string, max: number, out: RawLink[]): boolean {
  let i = prose.indexOf('[[');
  while (i >= 0) {
    if (out.length >= max) return true;
    let j = i + 2;
    while (j < prose.length) {
      const c = prose.charCodeAt(j);
      if (c === 91 || c === 93 || c === 10) break; // [ ] \n
      j += 1;
    }
    if (j > i + 2 && prose.charCodeAt(j) === 93 && prose.charCodeAt(j + 1) === 93) {
      out.push({ text: prose.slice(i + 2, j), embed: prose.charCodeAt(i - 1) === 33, kind: 'wikilink' });
      j += 2;
    }
    // Nothing between i + 2 and j is a bracket, so the next wikilink starts at j or later, or at
    // i + 1 when the scan stopped at once on a third `[`.
    i = prose.indexOf('[[', j === i + 2 ? i + 1 : j);
  }
  return false;
}

/**
 * `[text](href)`, `[text](<href>)` and `[text](href "title")`, the text on one line, `!` before it for
 * an embed. After a failed attempt the scan resumes past the href it read: every attempt starting
 * inside that href would read a suffix of it and fail at the same character, and the one `[` there
 * that could still open a link is remembered.
 */
function markdownLinks(prose: string, max: number, out: RawLink[]): boolean {
  const n = prose.length;
  let open = -1; // the first `[` since the last `]` or line break
  let i = 0;
  while (i < n) {
    const c = prose.charCodeAt(i);
    if (c === 10) open = -1;
    else if (c === 91 /* [ */) {
      if (open < 0) open = i;
    } else if (c === 93 /* ] */) {
      const start = open;
      open = -1;
      if (start >= 0 && prose.charCodeAt(i + 1) === 40 /* ( */) {
        if (out.length >= max) return true;
        let k = i + 2;
        const angled = prose.charCodeAt(k) === 60; /* < */
        if (angled) k += 1;
        let hrefStart = k;
        let pendingOpen = -1;
        while (k < n) {
          const h = prose.charCodeAt(k);
          if (h === 41 /* ) */ || h === 62 /* > */ || isSpace(h)) break;
          if (h === 91 && pendingOpen < 0) pendingOpen = k;
          else if (h === 93) pendingOpen = -1;
          k += 1;
        }
        if (k === hrefStart && angled) hrefStart -= 1; // `<` with nothing after it is the href itself
        const href = prose.slice(hrefStart, k);
        if (prose.charCodeAt(k) === 62) k += 1;
        let close = -1;
        if (href !== '' && prose.charCodeAt(k) === 41) close = k;
        else if (href !== '') {
          let t = k;
          while (t < n && isSpace(prose.charCodeAt(t))) t += 1;
          if (t > k && prose.charCodeAt(t) === 34 /* " */) {
            let q = t + 1;
            while (q < n && prose.charCodeAt(q) !== 34 && prose.charCodeAt(q) !== 10) q += 1;
            if (prose.charCodeAt(q) === 34 && prose.charCodeAt(q + 1) === 41) close = q + 1;
          }
        }
        if (close >= 0) {
          out.push({ text: href, embed: prose.charCodeAt(start - 1) === 33, kind: 'markdown' });
          i = close + 1;
        } else {
          i = Math.max(i + 1, k);
          open = pendingOpen;
        }
        continue;
      }
    }
    i += 1;
  }
  return false;
}

/** A letter or digit beyond ASCII, read at one place (sticky). */
const UNICODE_TAG_CHAR = /[\p{L}\p{N}]/uy;
const UNICODE_SPACE = /\s/;

/** Where the run of tag characters (letters, digits, `_`, `-`, `/`) starting at `from` ends. */
function tagEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 95 ||
      c === 45 ||
      c === 47
    )
      j += 1;
    else if (c < 128) break;
    else {
      UNICODE_TAG_CHAR.lastIndex = j;
      if (!UNICODE_TAG_CHAR.test(s)) break;
      j = UNICODE_TAG_CHAR.lastIndex;
    }
  }
  return j;
}

const isWhiteSpace = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c < 128 ? isSpace(c) : UNICODE_SPACE.test(s[i]!);
};

/**
 * `#tag` at a line start or after white space, each tag once (case-insensitively). Linear: `#` is not
 * a tag character, so each tag read ends before the next `#` is looked at.
 */
function inlineTags(prose: string, max: number, out: string[]): boolean {
  const seen = new Set<string>();
  for (let i = prose.indexOf('#'); i >= 0; i = prose.indexOf('#', i + 1)) {
    if (i > 0 && !isWhiteSpace(prose, i - 1)) continue;
    const end = tagEnd(prose, i + 1);
    if (end === i + 1) continue;
    const tag = prose.slice(i + 1, end);
    i = end - 1;
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    if (out.length >= max) return true;
    seen.add(key);
    out.push(tag);
  }
  return false;
}

const isHeadingTail = (c: number) => c === 32 || c === 9 || c === 35;

/** ATX headings: 1-6 `#`, a space or tab, the text without trailing spaces, tabs and `#`. */
function headings(prose: string, max: number, out: string[]): boolean {
  for (let start = 0; start < prose.length; start = lineEnd(prose, start) + 1) {
    if (prose.charCodeAt(start) !== 35) continue;
    let end = lineEnd(prose, start);
    const cr = prose.indexOf('\r', start);
    if (cr >= 0 && cr < end) end = cr;
    let i = start;
    while (i < end && i - start < 7 && prose.charCodeAt(i) === 35) i += 1;
    const level = i - start;
    const gap = prose.charCodeAt(i);
    if (level > 6 || (gap !== 32 && gap !== 9)) continue;
    while (i < end && (prose.charCodeAt(i) === 32 || prose.charCodeAt(i) === 9)) i += 1;
    let j = end;
    while (j > i && isHeadingTail(prose.charCodeAt(j - 1))) j -= 1;
    if (j === i) continue;
    if (out.length >= max) return true;
    out.push(prose.slice(i, j));
  }
  return false;
}

/** Links, inline tags and headings of a note body, each list bounded. */
export function scanMarkdown(body: string, bounds: ScanBounds): MarkdownScan {
  const prose = proseOnly(body);
  const links: RawLink[] = [];
  let truncated = wikilinks(prose, bounds.maxLinks, links);
  truncated = markdownLinks(prose, bounds.maxLinks, links) || truncated;
  const tags: string[] = [];
  truncated = inlineTags(prose, bounds.maxTags, tags) || truncated;
  const found: string[] = [];
  truncated = headings(prose, bounds.maxHeadings, found) || truncated;
  return { links, tags, headings: found, truncated };
}
