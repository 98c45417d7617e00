/** The note size limit the agent runs with by default (OBSIDIAN_MAX_NOTE_BYTES). */
export const NOTE_LIMIT = 524288;

const fill = (unit: string, bytes: number, head = '', tail = '') =>
  head + unit.repeat(Math.max(0, Math.floor((bytes - head.length - tail.length) / unit.length))) + tail;

/**
 * Notes at the size limit built to make a backtracking Markdown or YAML parser work for minutes:
 * each is a pattern that costs a naive regular expression or parser quadratic time, or deep recursion.
 * All ASCII, so characters are bytes.
 */
export function hostileNotes(bytes = NOTE_LIMIT): Record<string, string> {
  /** Lines made by `line(i)`, as many as fit in `size` bytes. */
  const lines = (size: number, line: (i: number) => string) => {
    const out: string[] = [];
    for (let used = 0, i = 0; used + line(i).length + 1 <= size; i += 1) {
      out.push(line(i));
      used += line(i).length + 1;
    }
    return out.join('\n');
  };
  /** Frontmatter of `size` bytes, then a body of spaces after a heading that fills the note. */
  const withFrontmatter = (yaml: string) => fill(' ', bytes, `---\n${yaml}\n---\n# a`, 'b');
  // Just under the size up to which the agent reads frontmatter (8 KiB).
  const FM = Math.min(8000, Math.floor(bytes / 2));
  return {
    'heading followed by spaces': fill(' ', bytes, '# a', 'b'),
    'heading with trailing hashes': fill(' \t#', bytes, '# a', 'x'),
    'unclosed link texts': fill('[', bytes),
    'unclosed embeds': fill('![[', bytes),
    'link targets that never close': fill('](x', bytes, '[a'),
    'unclosed HTML comments': fill('<!--', bytes),
    'unclosed Obsidian comments and code': fill('%% `', bytes),
    'fence openers': fill('```\n~~~\n', bytes),
    'a wikilink flood': fill('[[a]] ', bytes),
    'a tag flood': fill(' #t', bytes),
    'frontmatter of the whole note': `---\n${lines(bytes - 20, (i) => `k${i}: ${i}`)}\n---\nbody\n`,
    'frontmatter of many keys': withFrontmatter(lines(FM, (i) => `k${i}: ${i}`)),
    'frontmatter of one flow mapping': withFrontmatter(`a: {${lines(FM, (i) => `k${i}: ${i},`)}}`),
    'frontmatter nested deeply': withFrontmatter(`a: ${'['.repeat(FM)}`),
    'frontmatter of nested block sequences': withFrontmatter(fill('- ', FM)),
    'frontmatter of anchors': withFrontmatter(lines(FM, (i) => `k${i}: &a${i} v`)),
    'frontmatter of aliases': withFrontmatter(`a: &a x\n${lines(FM, (i) => `b${i}: *a`)}`),
  };
}
