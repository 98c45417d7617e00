import { Problem } from '../kit/problem.ts';
import { GitError, type GitRunner } from './git.ts';
import { SHA } from './inputs.ts';
import type { Repo } from './repos.ts';

/** The commit `rev` names in `repo`, as a full SHA; 404 naming `field` when it names none. */
export async function commitOf(
  git: GitRunner,
  repo: Repo,
  rev: string,
  signal: AbortSignal,
  field = 'input.ref',
): Promise<string> {
  try {
    const out = await git.run({
      gitDir: repo.gitDir,
      args: ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`],
      signal,
    });
    const sha = out.stdout.toString('utf8').trim();
    if (!SHA.test(sha)) throw new Problem(500, 'git-failed', 'rev-parse gave no commit');
    return sha;
  } catch (err) {
    // A revision git cannot turn into a commit (unknown, past the history, not a commit) is the caller's.
    if (err instanceof GitError && !err.stderr.includes('not a git repository')) {
      throw new Problem(404, 'not-found', `${field}: "${rev}" names no commit in ${repo.name}`, {
        extensions: { errors: [{ field, message: 'names no commit' }] },
      });
    }
    throw err;
  }
}
