import path from 'node:path';
import { z } from 'zod';

/** A repository: a plain folder name under the root (no separators, no leading dot or dash). */
export const repoName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'expected a repository folder name ([A-Za-z0-9._-], 1-128)')
  .describe('Repository name (its folder under the root).');

export const MAX_REF_CHARS = 256;
/** `~n` / `^n` steps after a name, and the largest n: enough to walk any real history, bounded. */
export const MAX_REF_STEPS = 20;
export const MAX_REF_STEP = 99999;

const GENERIC_REF =
  'expected a branch, tag or commit SHA, optionally followed by ~n or ^n steps (such as HEAD~2)';
/** A name and its navigation suffix; each step starts with `~` or `^`, so matching is linear. */
const NAME_AND_STEPS = /^([^~^]+)((?:[~^][0-9]*)*)$/;
/** One `/`-separated component of a name: the characters git-check-ref-format allows that need no quoting. */
const COMPONENT = /^[A-Za-z0-9_+=,@-][A-Za-z0-9._+=,@-]*$/;

/** git-check-ref-format's rules, on the characters above: no empty or dot-led component, no `.lock` end. */
const isRefName = (name: string) =>
  name !== '@' &&
  !name.endsWith('.') &&
  name.split('/').every((c) => COMPONENT.test(c) && !c.endsWith('.lock'));

/** Why `value` is not a revision this agent accepts, or undefined when it is one. */
function refProblem(value: string): string | undefined {
  if (value.startsWith('-')) return 'must not start with "-"';
  if (value.includes('@{'))
    return 'reflog and upstream forms such as HEAD@{1} are not accepted (they reach history rewritten away)';
  if (value.includes('^{')) return 'peel and search forms such as ^{/text} or ^{tree} are not accepted';
  if (value.includes(':')) return 'path and message-search forms (rev:path, :/text) are not accepted';
  if (value.includes('..')) return 'ranges are not accepted; give one revision';
  const match = NAME_AND_STEPS.exec(value);
  if (!match || !isRefName(match[1]!)) return GENERIC_REF;
  const steps = match[2]!.match(/[~^][0-9]*/g) ?? [];
  if (steps.length > MAX_REF_STEPS) return `at most ${MAX_REF_STEPS} ~n or ^n steps`;
  if (steps.some((step) => step.length > 6 || Number(step.slice(1)) > MAX_REF_STEP))
    return `~n and ^n take n at most ${MAX_REF_STEP}`;
  return undefined;
}

/**
 * A revision: a branch or tag name (git-check-ref-format's rules, such as `main`, `refs/tags/v1.2`),
 * `HEAD`, or a full or abbreviated commit SHA, optionally followed by up to 20 `~n` / `^n` steps
 * (n at most 99999). Nothing else of git's revision syntax: no `^{...}` peeling or regex search (a
 * regex there is compiled by git, unbounded), no `@{...}` reflog or upstream forms, no `rev:path` or
 * `:/text`, no ranges, never an option. See docs/decisions.md.
 */
export const ref = z
  .string()
  .min(1)
  .max(MAX_REF_CHARS)
  .superRefine((value, ctx) => {
    const problem = refProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('Branch, tag or commit SHA, optionally followed by ~n or ^n steps (such as HEAD~2).');

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
