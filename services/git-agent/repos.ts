import { createHash } from 'node:crypto';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { notFound, unavailable } from '../kit/problem.ts';

export interface Repo {
  name: string;
  bare: boolean;
  /** Absolute path of its git directory. */
  gitDir: string;
}

/** Folders beyond this many under the root are not looked at, so one listing stays bounded. */
const MAX_ENTRIES = 10000;

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** The git directory of `dir` when it holds a repository: `dir/.git` (folder or gitfile), or `dir` when bare. */
async function gitDirOf(dir: string): Promise<{ gitDir: string; bare: boolean } | undefined> {
  const dotGit = path.join(dir, '.git');
  if (await lstat(dotGit).catch(() => undefined)) return { gitDir: dotGit, bare: false };
  const [head, objects, refs] = await Promise.all([
    stat(path.join(dir, 'HEAD')).catch(() => undefined),
    isDirectory(path.join(dir, 'objects')),
    isDirectory(path.join(dir, 'refs')),
  ]);
  if (head?.isFile() && objects && refs) return { gitDir: dir, bare: true };
  return undefined;
}

/** Repositories are the immediate subfolders of one root; symlinked folders are not followed out of it. */
export function createRepos(root: string) {
  const absoluteRoot = path.resolve(root);

  const one = async (name: string): Promise<Repo | undefined> => {
    const dir = path.join(absoluteRoot, name);
    if (path.dirname(dir) !== absoluteRoot) return undefined;
    const entry = await lstat(dir).catch(() => undefined);
    if (!entry?.isDirectory()) return undefined;
    const found = await gitDirOf(dir);
    return found ? { name, ...found } : undefined;
  };

  return {
    root: absoluteRoot,

    async list(): Promise<Repo[]> {
      const entries = await readdir(absoluteRoot, { withFileTypes: true }).catch(
        (err: NodeJS.ErrnoException) => {
          throw unavailable(
            'repos-root-unavailable',
            `the repositories root cannot be read (${err.code})`,
            5,
          );
        },
      );
      const names = entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort()
        .slice(0, MAX_ENTRIES);
      const repos = await Promise.all(names.map(one));
      return repos.filter((r): r is Repo => r !== undefined);
    },

    /** The named repository, or a 404 problem. `name` has been validated as a plain folder name. */
    async get(name: string): Promise<Repo> {
      const repo = await one(name);
      if (!repo) throw notFound(`no repository named "${name}"`);
      return repo;
    },
  };
}

export type Repos = ReturnType<typeof createRepos>;

/** A version of the repository list: changes when a repository appears, disappears or changes kind. */
export const listVersion = (repos: Repo[]) =>
  createHash('sha256')
    .update(repos.map((r) => `${r.name}:${r.bare ? 'bare' : 'work'}`).join('\n'))
    .digest('hex');
