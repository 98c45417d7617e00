import { KeyedLock } from '../../services/obsidian-agent/note-files.ts';
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
