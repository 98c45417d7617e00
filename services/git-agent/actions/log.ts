import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { ref, repoName, repoPath } from '../inputs.ts';
import { LOG_FORMAT, parseLog } from '../parse.ts';
import { REPO, revision } from '../sources.ts';
import { IMMUTABLE_TTL, fieldError, text, type GitTools } from './tools.ts';

const cursorPattern = /^([0-9a-f]{40}(?:[0-9a-f]{24})?)\.(\d{1,7})$/;

const logInput = z.strictObject({
  repo: repoName,
  ref: ref.default('HEAD'),
  path: repoPath.optional(),
  limit: z.number().int().min(1).max(200).default(20).describe('Commits per page.'),
  skip: z.number().int().min(0).max(1000000).optional().describe('Commits to skip (first page: 0).'),
  cursor: z
    .string()
    .regex(cursorPattern, 'expected a next_cursor from an earlier page')
    .optional()
    .describe('`next_cursor` of the previous page; pages stay on the commit the first page started at.'),
});
type LogInput = z.infer<typeof logInput>;

export const logAction = ({ repos, commitOf, run, staleSeconds }: GitTools) => {
  /** Where a page starts: the cursor's commit and offset, or the ref's commit and `skip`. */
  const logStart = async (input: LogInput, signal: AbortSignal) => {
    const repo = await repos.get(input.repo);
    if (input.cursor) {
      if (input.skip !== undefined) throw fieldError('input.cursor', 'give either cursor or skip, not both');
      const [, sha, offset] = cursorPattern.exec(input.cursor)!;
      return { repo, sha: await commitOf(repo, sha!, signal, 'input.cursor'), skip: Number(offset) };
    }
    return { repo, sha: await commitOf(repo, input.ref, signal), skip: input.skip ?? 0 };
  };

  return defineAction({
    name: 'log',
    description:
      'Commits reachable from a ref, newest first, optionally only those touching a path; paged with limit and skip or cursor.',
    input: logInput,
    cacheable: true,
    ttl_seconds: IMMUTABLE_TTL,
    // A cursor names its commit: only the repository's existence moves the answer then.
    version_from: [REPO, { ...revision('ref', 'HEAD'), unless: 'cursor' }],
    stale_if_error_seconds: staleSeconds,
    run: async (input, ctx) => {
      const { repo, sha, skip } = await logStart(input, ctx.signal);
      const out = await run(
        repo,
        [
          'log',
          '-z',
          `--format=${LOG_FORMAT}`,
          `--skip=${skip}`,
          `--max-count=${input.limit + 1}`,
          sha,
          '--',
          ...(input.path ? [input.path] : []),
        ],
        ctx.signal,
      );
      const commits = parseLog(text(out.stdout, out.truncated));
      // Output cut at the cap ends inside a commit: drop it; the cursor picks it up on the next page.
      if (out.truncated) commits.pop();
      const more = out.truncated || commits.length > input.limit;
      const page = commits.slice(0, input.limit);
      return {
        repo: repo.name,
        ref: input.cursor ? null : input.ref,
        commit: sha,
        path: input.path ?? null,
        skip,
        commits: page,
        next_cursor: more ? `${sha}.${skip + page.length}` : null,
        truncated: out.truncated,
      };
    },
  });
};
