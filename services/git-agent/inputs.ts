import path from 'node:path';
import { z } from 'zod';

/** A repository: a plain folder name under the root (no separators, no leading dot or dash). */
export const repoName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'expected a repository folder name ([A-Za-z0-9._-], 1-128)')
  .describe('Repository name (its folder under the root).');

/**
 * A revision: branch, tag, SHA, or `HEAD~2`-style navigation. Never an option (no leading `-`), and only
 * characters that revision syntax needs, so nothing a shell or git option parser would read specially.
 */
export const ref = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^-]/, 'must not start with "-"')
  .regex(/^[A-Za-z0-9._/@{}~^-]+$/, 'expected a branch, tag, commit SHA or revision like HEAD~2')
  .refine((s) => !s.includes('..'), 'ranges are not accepted; give one revision')
  .describe('Branch, tag, commit SHA or revision such as HEAD~2.');

const hasControlCharacter = (s: string) => {
  for (let i = 0; i < s.length; i += 1) {
    const code = s.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
};

/**
 * A path inside the repository, normalised (no `.` segments, no doubled or trailing slashes). Absolute
 * paths, `..` segments, backslashes, control characters and a leading `-` are refused.
 */
export const repoPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !hasControlCharacter(s), 'must not contain control characters or NUL')
  .refine((s) => !s.includes('\\'), 'must not contain backslashes')
  .refine((s) => !s.startsWith('/'), 'must be relative to the repository root')
  .refine((s) => !s.split('/').includes('..'), 'must not contain ".." segments')
  .refine((s) => !s.startsWith('-'), 'must not start with "-"')
  .transform((s) => {
    const normal = path.posix.normalize(s).replace(/\/+$/, '');
    return normal === '.' ? '' : normal;
  })
  .describe('Path relative to the repository root.');

/** `repoPath` that must name something (not the root). */
export const filePath = repoPath.refine((s) => s !== '', 'must name a file');

export const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
