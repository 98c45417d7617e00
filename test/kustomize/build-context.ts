/**
 * What `docker build .` sends as its context, worked out from .dockerignore with Docker's own rules
 * (github.com/moby/patternmatcher): patterns are relative to the context root, `*` and `?` stay within
 * one path segment, `**` spans any number, a pattern also matches everything under a folder it names,
 * a leading `!` lets a path back in, and the last pattern that matches decides.
 */

interface Pattern {
  regex: RegExp;
  exclude: boolean;
}

function toRegex(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i += 1;
      if (glob[i + 1] === '/') i += 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      out += glob.slice(i, end + 1).replace(/^\[!/, '[^');
      i = end;
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

export function parseDockerignore(text: string): Pattern[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const exclude = !l.startsWith('!');
      const glob = (exclude ? l : l.slice(1)).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { regex: toRegex(glob), exclude };
    });
}

/** Whether a context-relative path (with `/`) is left out of the build context. */
export function isIgnored(patterns: Pattern[], file: string): boolean {
  const parents = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const p of patterns) {
    if (parents.some((candidate) => p.regex.test(candidate))) ignored = p.exclude;
  }
  return ignored;
}
