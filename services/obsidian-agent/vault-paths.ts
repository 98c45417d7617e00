import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { Problem, badRequest, notFound } from '../kit/problem.ts';

/** Bounds decided before any file system call, so no name the file system would refuse gets that far. */
export const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
/** As deep as the vault scan looks: a note deeper would never be searched. */
export const MAX_SEGMENTS = 64;
// Control characters (NUL included) never belong in a note name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why a vault-relative path is refused, or undefined when its shape is acceptable. */
function shapeProblem(p: string, note: boolean): string | undefined {
  if (CONTROL.test(p)) return 'must not contain NUL or control characters';
  if (p.includes('\\')) return 'must use forward slashes, not backslashes';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'must be relative to the vault, not absolute';
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) return `must be at most ${MAX_PATH_BYTES} bytes (UTF-8)`;
  const segments = p.split('/');
  if (segments.length > MAX_SEGMENTS) return `must be at most ${MAX_SEGMENTS} folders and names deep`;
  for (const s of segments) {
    if (s === '..' || s === '.') return 'must not contain "." or ".." segments';
    if (s === '') return 'must not contain empty segments';
    if (s.startsWith('.')) return 'must not name hidden files or folders (starting with ".")';
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) return `segments are at most ${MAX_SEGMENT_BYTES} bytes`;
  }
  if (note && !p.endsWith('.md')) return 'must name a Markdown note ending in ".md"';
  return undefined;
}

const refine = (note: boolean) => (p: string, ctx: z.RefinementCtx) => {
  const problem = shapeProblem(p, note);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

/** A vault-relative path of a `.md` note, such as `Projects/Alpha.md`. */
export const notePathSchema = z
  .string()
  .min(1)
  .max(MAX_PATH_BYTES)
  .superRefine(refine(true))
  .describe('Vault-relative path of a note, ending in ".md" (forward slashes, no "..", no hidden segments).');

/** A vault-relative folder; "" is the vault root. */
export const folderPathSchema = z
  .string()
  .max(MAX_PATH_BYTES)
  .superRefine((p, ctx) => {
    if (p !== '') refine(false)(p, ctx);
  })
  .describe('Vault-relative folder path; "" (the default) is the vault root.');

/** A 400 naming the input field the path came in. */
const pathError = (field: string, message: string) =>
  badRequest(`${field} ${message}`, [{ field: `input.${field}`, message }]);

const isMissing = (err: unknown) =>
  (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';

/**
 * The vault folder and the only way actions turn a caller's path into a file system path: every
 * path is resolved with realpath and must stay inside the vault, so a symbolic link cannot lead out.
 */
export class VaultPaths {
  readonly root: string;
  private readonly onEscape: () => void;

  /** `root` must already be the vault's real path. */
  constructor(root: string, onEscape: () => void = () => undefined) {
    this.root = root;
    this.onEscape = onEscape;
  }

  static async open(configured: string, onEscape?: () => void): Promise<VaultPaths> {
    const root = await realpath(path.resolve(configured));
    const stat = await lstat(root);
    if (!stat.isDirectory()) throw new Error(`${configured} is not a folder`);
    return new VaultPaths(root, onEscape);
  }

  private outside(field: string): Problem {
    this.onEscape();
    return badRequest(`${field} resolves outside the vault`, [
      { field: `input.${field}`, message: 'resolves outside the vault (symbolic link)' },
    ]);
  }

  /** Vault-relative form of a real path inside the vault. */
  relative(real: string): string {
    return path.relative(this.root, real).split(path.sep).join('/');
  }

  contains(real: string): boolean {
    return real === this.root || real.startsWith(this.root + path.sep);
  }

  /** The real path of an existing note, checked to be inside the vault and a `.md` regular file. */
  async note(rel: string, field = 'path'): Promise<string> {
    let real: string;
    try {
      real = await realpath(path.join(this.root, rel));
    } catch (err) {
      if (isMissing(err)) throw notFound(`no note at ${JSON.stringify(rel)}`);
      throw err;
    }
    if (!this.contains(real)) throw this.outside(field);
    if (!real.endsWith('.md')) throw pathError(field, 'does not lead to a Markdown note');
    const stat = await lstat(real);
    if (!stat.isFile()) throw notFound(`${JSON.stringify(rel)} is not a note`);
    return real;
  }

  /** The real path of an existing folder inside the vault. */
  async folder(rel: string, field = 'path'): Promise<string> {
    let real: string;
    try {
      real = await realpath(path.join(this.root, rel));
    } catch (err) {
      if (isMissing(err)) throw notFound(`no folder at ${JSON.stringify(rel)}`);
      throw err;
    }
    if (!this.contains(real)) throw this.outside(field);
    if (!(await lstat(real)).isDirectory()) throw notFound(`${JSON.stringify(rel)} is not a folder`);
    return real;
  }

  /**
   * Where a write of `rel` lands: the real target file (through an in-vault link, if the note is one)
   * and whether it exists. With `createFolders`, missing parent folders are made inside the vault.
   */
  async writeTarget(
    rel: string,
    opts: { createFolders: boolean },
    field = 'path',
  ): Promise<{ file: string; exists: boolean }> {
    const lexical = path.join(this.root, rel);
    try {
      return { file: await this.note(rel, field), exists: true };
    } catch (err) {
      if (!(err instanceof Problem && err.status === 404)) throw err;
    }
    try {
      const stat = await lstat(lexical);
      // A dangling link or something else that is not a note: never write through it.
      if (!stat.isFile()) throw pathError(field, 'names something that is not a note');
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    const parentRel = path.posix.dirname(rel);
    const parent = await this.existingAncestor(parentRel, field);
    let dir = parent.real;
    if (parent.missing.length > 0) {
      if (!opts.createFolders) throw notFound(`the folder ${JSON.stringify(parentRel)} does not exist`);
      await mkdir(path.join(dir, ...parent.missing), { recursive: true });
      dir = await realpath(path.join(dir, ...parent.missing));
      if (!this.contains(dir)) throw this.outside(field);
    }
    return { file: path.join(dir, path.posix.basename(rel)), exists: false };
  }

  /** The deepest existing folder on the way to `rel` (real, inside the vault) and the segments below it. */
  private async existingAncestor(rel: string, field: string): Promise<{ real: string; missing: string[] }> {
    const segments = rel === '.' ? [] : rel.split('/');
    for (let i = segments.length; i >= 0; i -= 1) {
      let real: string;
      try {
        real = await realpath(path.join(this.root, ...segments.slice(0, i)));
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      if (!this.contains(real)) throw this.outside(field);
      if (!(await lstat(real)).isDirectory()) throw pathError(field, 'goes through a file');
      return { real, missing: segments.slice(i) };
    }
    throw new Error('the vault folder is gone');
  }
}
