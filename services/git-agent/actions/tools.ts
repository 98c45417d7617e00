import { Problem, badRequest } from '../../kit/problem.ts';
import { commitOf as commitAt } from '../commits.ts';
import type { GitAgentConfig } from '../config.ts';
import { GitError, type GitRunner } from '../git.ts';
import { parseLsTree, type TreeEntry } from '../parse.ts';
import { REPO, revision } from '../sources.ts';
import type { Repo, Repos } from '../repos.ts';

/** What every git action is built from. */
export interface GitActionDeps {
  config: GitAgentConfig;
  repos: Repos;
  git: GitRunner;
}

/** Answers keyed by a commit SHA never change; the orchestrator caps this at CACHE_MAX_TTL_SECONDS. */
export const IMMUTABLE_TTL = 86400;

export const fieldError = (field: string, message: string) =>
  badRequest(`${field}: ${message}`, [{ field, message }]);

/** Git failures we did not foresee are the agent's (500), with git's first words for the log. */
export const gitFailure = (err: unknown): never => {
  if (err instanceof GitError) {
    throw new Problem(500, 'git-failed', `git failed: ${err.stderr.split('\n')[0]?.slice(0, 300) ?? ''}`);
  }
  throw err;
};

/** Decodes git output; content cut at the cap may end inside a UTF-8 sequence, so drop that tail. */
export const text = (buf: Buffer, truncated: boolean): string => {
  const s = buf.toString('utf8');
  return truncated ? s.replace(/\uFFFD+$/, '') : s;
};

/** Output cut at the cap ends inside a record: keep only the records before the last `separator`. */
export const records = (out: { stdout: Buffer; truncated: boolean }, separator: '\0' | '\n'): string => {
  const s = text(out.stdout, out.truncated);
  return out.truncated ? s.slice(0, s.lastIndexOf(separator) + 1) : s;
};

/** The steps the actions share: running git in a repository, and finding commits and files in it. */
export function gitTools({ config, repos, git }: GitActionDeps) {
  const run = (repo: Repo, args: string[], signal: AbortSignal, extra: { maxBytes?: number } = {}) =>
    git.run({ gitDir: repo.gitDir, args, signal, ...extra }).catch(gitFailure);

  /** The commit `rev` names in `repo`, as a full SHA; 404 naming `field` when it names none. */
  const commitOf = (repo: Repo, rev: string, signal: AbortSignal, field = 'input.ref') =>
    commitAt(git, repo, rev, signal, field);

  const at = async (input: { repo: string; ref: string }, signal: AbortSignal) => {
    const repo = await repos.get(input.repo);
    return { repo, sha: await commitOf(repo, input.ref, signal) };
  };

  /** The tree entry at `path` in commit `sha`, or a 404 naming the path. */
  const entryAt = async (repo: Repo, sha: string, path: string, signal: AbortSignal): Promise<TreeEntry> => {
    const out = await run(repo, ['ls-tree', '-z', '--long', '--full-tree', sha, '--', path], signal);
    const entry = parseLsTree(out.stdout.toString('utf8')).find((e) => e.path === path);
    if (!entry) {
      throw new Problem(404, 'not-found', `input.path: "${path}" does not exist at ${sha.slice(0, 12)}`, {
        extensions: { errors: [{ field: 'input.path', message: 'does not exist at this commit' }] },
      });
    }
    return entry;
  };

  const blobAt = async (repo: Repo, sha: string, path: string, signal: AbortSignal) => {
    const entry = await entryAt(repo, sha, path, signal);
    if (entry.type !== 'blob') {
      throw fieldError('input.path', `is a ${entry.type === 'tree' ? 'directory' : 'submodule'}, not a file`);
    }
    return entry;
  };

  /** The repository, the commit `input.ref` names and the file at `input.path` in it. */
  const fileAt = async (input: { repo: string; ref: string; path: string }, signal: AbortSignal) => {
    const { repo, sha } = await at(input, signal);
    return { repo, sha, entry: await blobAt(repo, sha, input.path, signal) };
  };

  /** How old a cached answer may be served STALE while the pool fails (GIT_STALE_IF_ERROR_SECONDS). */
  const staleSeconds = config.GIT_STALE_IF_ERROR_SECONDS;

  /** The cache policy of an answer about one ref: keyed by the commit it names, so it never changes. */
  const keyedByRef = {
    cacheable: true,
    ttl_seconds: IMMUTABLE_TTL,
    version_from: [REPO, revision('ref', 'HEAD')],
    stale_if_error_seconds: staleSeconds,
  };

  return { repos, git, run, commitOf, at, entryAt, fileAt, staleSeconds, keyedByRef };
}

export type GitTools = ReturnType<typeof gitTools>;
