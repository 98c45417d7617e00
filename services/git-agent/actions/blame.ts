import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { GitError } from '../git.ts';
import { filePath, ref, repoName } from '../inputs.ts';
import { parseBlame } from '../parse.ts';
import { fieldError, gitFailure, records, type GitTools } from './tools.ts';

const MAX_BLAME_LINES = 20000;

export const blameAction = ({ fileAt, git, keyedByRef }: GitTools) =>
  defineAction({
    name: 'blame',
    description:
      'Who last changed each line of a file at a ref: ranges of consecutive lines with their commit, author and summary.',
    input: z
      .strictObject({
        repo: repoName,
        ref: ref.default('HEAD'),
        path: filePath,
        start_line: z.number().int().min(1).max(10000000).optional(),
        end_line: z.number().int().min(1).max(10000000).optional(),
      })
      .refine((i) => !i.start_line || !i.end_line || i.start_line <= i.end_line, {
        message: 'must not be below start_line',
        path: ['end_line'],
      }),
    ...keyedByRef,
    run: async (input, ctx) => {
      const { repo, sha, entry } = await fileAt(input, ctx.signal);
      const answer = { repo: repo.name, ref: input.ref, commit: sha, path: input.path };
      if (entry.size === 0) return { ...answer, ranges: [], truncated: false };
      const start = input.start_line ?? 1;
      const end = input.end_line ?? start + MAX_BLAME_LINES - 1;
      if (end - start + 1 > MAX_BLAME_LINES) {
        throw fieldError('input.end_line', `at most ${MAX_BLAME_LINES} lines at once`);
      }
      const out = await git
        .run({
          gitDir: repo.gitDir,
          signal: ctx.signal,
          // --no-ignore-revs-file: blame.ignoreRevsFile may name any file, whose lines git would echo.
          args: [
            'blame',
            '--porcelain',
            '--no-textconv',
            '--no-ignore-revs-file',
            '-L',
            `${start},${end}`,
            sha,
            '--',
            input.path,
          ],
        })
        .catch((err: unknown) => {
          const lines = err instanceof GitError && /has only (\d+) lines?/.exec(err.stderr);
          if (lines) throw fieldError('input.start_line', `the file has only ${lines[1]} lines`);
          return gitFailure(err);
        });
      const ranges = parseBlame(records(out, '\n'));
      // A range cut by the output cap may lack its last lines; the flag says so.
      return { ...answer, ranges, truncated: out.truncated };
    },
  });
