import { KeyedLock } from '../../services/obsidian-agent/note-files.ts';
import { proseOnly, scanMarkdown } from '../../services/obsidian-agent/markdown-scan.ts';
import { composeNote, contentVersion, hasTag, parseNote } from '../../services/obsidian-agent/notes.ts';

describe('parseNote', () => {
  test('CRLF frontmatter, a tags string, aliases and a title field', () => {
    const note = parseNote(
      'A/B.md',
      '---\r\ntitle: The B\r\ntags: "one, #two three"\r\naliases: Bee\r\n---\r\nBody #four\r\n',
    );
    expect(note.frontmatter).toEqual({ title: 'The B', tags: 'one, #two three', aliases: 'Bee' });
    expect(note.title).toBe('The B');
    expect(note.tags).toEqual(['one', 'two', 'three', 'four']);
    expect(note.aliases).toEqual(['Bee']);
    expect(note.body).toBe('Body #four\r\n');
  });

  test('no frontmatter, empty frontmatter, and a horizontal rule that is not frontmatter', () => {
    expect(parseNote('x.md', 'Just text').frontmatter).toBeNull();
    expect(parseNote('x.md', '---\n---\nAfter').frontmatter).toEqual({});
    expect(parseNote('x.md', '---\n---\nAfter').body).toBe('After');
    const rule = parseNote('x.md', 'Intro\n---\nnot: yaml\n---\n');
    expect(rule.frontmatter).toBeNull();
    expect(rule.title).toBe('x');
  });

  test('frontmatter that is not a mapping, and a YAML alias bomb, are errors, not crashes', () => {
    const list = parseNote('x.md', '---\n- a\n- b\n---\nbody');
    expect(list.frontmatter).toBeNull();
    expect(list.frontmatter_error).toMatch(/mapping/);
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    const parsed = parseNote('x.md', `---\n${bomb}\n---\nbody`);
    expect(parsed.frontmatter).toBeNull();
    expect(parsed.frontmatter_error).toBeDefined();
    expect(parsed.body).toBe('body');
  });

  test('what is and is not a tag', () => {
    const note = parseNote(
      'x.md',
      [
        '# Heading is not a tag',
        'A #real-tag, #nested/tag and #Ünïcode.',
        'Not: #123 (digits only), a#glued, https://x.org/page#fragment, `#code`.',
        '%% #hidden-comment %%',
        '<!-- #html-comment -->',
      ].join('\n'),
    );
    expect(note.tags).toEqual(['real-tag', 'nested/tag', 'Ünïcode']);
    expect(hasTag(note.tags, 'nested')).toBe(true);
    expect(hasTag(note.tags, 'NESTED/TAG')).toBe(true);
    expect(hasTag(note.tags, 'nest')).toBe(false);
  });

  test('wikilinks with heading, block, alias, embeds and self links; Markdown links only to notes', () => {
    const note = parseNote(
      'Folder/x.md',
      [
        '[[Note]] [[Folder/Other#Section|shown]] ![[Picture.png]] [[#Local heading]] [[Doc#^block1]]',
        '[rel](../Up%20Here.md) [ext](https://example.org/a.md) [mail](mailto:a@b.c) [img](pic.png) [anchor](#top)',
        '~~~',
        '[[Fenced]]',
        '~~~',
      ].join('\n'),
    );
    expect(note.links).toEqual([
      { target: 'Note', embed: false, kind: 'wikilink' },
      { target: 'Folder/Other', heading: 'Section', alias: 'shown', embed: false, kind: 'wikilink' },
      { target: 'Picture.png', embed: true, kind: 'wikilink' },
      { target: '', heading: 'Local heading', embed: false, kind: 'wikilink' },
      { target: 'Doc', heading: '^block1', embed: false, kind: 'wikilink' },
      { target: '../Up Here.md', embed: false, kind: 'markdown' },
    ]);
  });

  test('composeNote writes frontmatter that parseNote reads back', () => {
    const text = composeNote('Body\n', { title: 'T', tags: ['a', 'b'], n: 1 });
    const note = parseNote('x.md', text);
    expect(note.frontmatter).toEqual({ title: 'T', tags: ['a', 'b'], n: 1 });
    expect(note.body).toBe('Body\n');
    expect(composeNote('raw')).toBe('raw');
    expect(contentVersion(text)).toBe(contentVersion(Buffer.from(text)));
    expect(contentVersion(text)).not.toBe(contentVersion(`${text} `));
  });
});

describe('KeyedLock', () => {
  test('runs one function at a time per key, others in parallel, survives a failure, and forgets idle keys', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const step = (key: string, name: string, ms: number, fail = false) =>
      lock.run(key, async () => {
        order.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}:end`);
        if (fail) throw new Error('boom');
        return name;
      });
    const results = await Promise.allSettled([
      step('a', 'a1', 30, true),
      step('a', 'a2', 5),
      step('b', 'b1', 5),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(order.indexOf('a2:start')).toBeGreaterThan(order.indexOf('a1:end'));
    expect(order.indexOf('b1:start')).toBeLessThan(order.indexOf('a1:end'));
    expect(lock.size).toBe(0);
  });
});

describe('the linear scanner', () => {
  // The regular expressions the scanner replaced: quadratic on hostile notes, exact on short ones.
  const oldProse = (body: string) =>
    body
      .replace(/^(```|~~~)[^\n]*\n[\s\S]*?(?:^\1[^\n]*$|(?![\s\S]))/gm, '')
      .replace(/`[^`\n]*`/g, '')
      .replace(/%%[\s\S]*?%%/g, '')
      .replace(/<!--[\s\S]*?-->/g, '');
  const WIKILINK = /(!?)\[\[([^[\]\n]+?)\]\]/g;
  const MARKDOWN_LINK = /(!?)\[[^\]\n]*\]\(<?([^)\s>]+)>?(?:\s+"[^"\n]*")?\)/g;
  const INLINE_TAG = /(?<=^|\s)#([\p{L}\p{N}_\-/]+)/gu;
  const HEADING = /^#{1,6}[ \t]+(.+?)[ \t#]*$/gm;
  const TOKENS = ['[', ']', '[[', ']]', '(', ')', '!', '<', '>', '"', ' ', '\n', '\r\n', '\t', '#', '##'];
  const MORE = ['a', 'Ü', 'b.md', 'x y', '|', '`', '```', '~~~', '%%', '<!--', '-->'];
  const bounds = { maxLinks: 1e6, maxTags: 1e6, maxHeadings: 1e6 };

  /** A small deterministic generator (mulberry32), so a failure names a note that can be replayed. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  test('finds what the regular expressions found, on 30000 short notes of Markdown punctuation', () => {
    const next = random(13);
    const tokens = [...TOKENS, ...MORE];
    const mismatches: string[] = [];
    for (let n = 0; n < 30000 && mismatches.length < 5; n += 1) {
      let body = '';
      for (let i = 1 + Math.floor(next() * 14); i > 0; i -= 1)
        body += tokens[Math.floor(next() * tokens.length)];
      // Where code and comments overlap the scanner reads left to right, as Markdown does; an
      // unclosed comment hides the rest of the note. The regular expressions did neither.
      const unclosed = /%%(?![\s\S]*%%)|<!--(?![\s\S]*-->)/.test(body.replace(/`[^`\n]*`/g, ''));
      if ((/`|~~~/.test(body) && /%%|<!--|-->/.test(body)) || unclosed) continue;
      const prose = oldProse(body);
      const scan = scanMarkdown(body, bounds);
      const expected = {
        prose,
        links: [
          ...[...prose.matchAll(WIKILINK)].map((m) => `wikilink ${m[1]}${m[2]}`),
          ...[...prose.matchAll(MARKDOWN_LINK)].map((m) => `markdown ${m[1]}${m[2]}`),
        ],
        tags: [...new Map([...prose.matchAll(INLINE_TAG)].map((m) => [m[1]!.toLowerCase(), m[1]!])).values()],
        headings: [...prose.matchAll(HEADING)].map((m) => m[1]!).filter((h) => !/^[ \t#]*$/.test(h)),
      };
      const actual = {
        prose: proseOnly(body),
        links: scan.links.map((l) => `${l.kind} ${l.embed ? '!' : ''}${l.text}`),
        tags: scan.tags,
        headings: scan.headings,
      };
      if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push(JSON.stringify(body));
    }
    expect(mismatches).toEqual([]);
  });

  test('left to right where code and comments overlap; an unclosed comment hides the rest', () => {
    expect(proseOnly('a `%%` [[x]] %% [[y]]\nmore')).toBe('a  [[x]] ');
    expect(proseOnly('a <!-- [[x]] `b --> c` d')).toBe('a  c` d');
    expect(proseOnly('```\n[[x]]\n```\n[[y]]')).toBe('\n[[y]]');
    expect(scanMarkdown('# a   \t##\n#no\n####### seven\n#\tTab', bounds).headings).toEqual(['a', 'Tab']);
  });
});
