import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { GitError } from '../git.ts';
import { ref, repoName, repoPath } from '../inputs.ts';
import { parseGrep } from '../parse.ts';
import { fieldError, gitFailure, text, type GitTools } from './tools.ts';

const MAX_LINE_CHARS = 2000;

export const grepAction = ({ at, git, keyedByRef }: GitTools) =>
  defineAction({
    name: 'grep',
    description:
      'Lines matching a pattern in the files at a ref: a fixed string unless regex is true (POSIX extended). Binary files are skipped; results are capped at limit.',
    input: z.strictObject({
      repo: repoName,
      ref: ref.default('HEAD'),
      pattern: z
        .string()
        .min(1)
        .max(1000)
        .refine(
          (s) => !s.includes('\0') && !s.includes('\n') && !s.includes('\r'),
          'must be one line without NUL',
        ),
      regex: z.boolean().default(false).describe('Read pattern as a POSIX extended regular expression.'),
      ignore_case: z.boolean().default(false),
      path: repoPath.optional().describe('Search only under this path.'),
      limit: z.number().int().min(1).max(1000).default(100).describe('Most matches returned.'),
    }),
    ...keyedByRef,
    run: async (input, ctx) => {
      const { repo, sha } = await at(input, ctx.signal);
      const out = await git
        .run({
          gitDir: repo.gitDir,
          signal: ctx.signal,
          allowExit: [1],
          timeoutIsCallersFault: input.regex,
          args: [
            'grep',
            '-z',
            '-n',
            '-I',
            '--no-color',
            '--no-textconv',
            input.regex ? '-E' : '-F',
            ...(input.ignore_case ? ['-i'] : []),
            '-e',
            input.pattern,
            sha,
            '--',
            ...(input.path ? [input.path] : []),
          ],
        })
        .catch((err: unknown) => {
          if (err instanceof GitError && input.regex && err.code === 128) {
            const reason = err.stderr
              .replace(/^fatal: /, '')
              .split('\n')[0]!
              .slice(0, 200);
            throw fieldError('input.pattern', `not a valid extended regular expression (${reason})`);
          }
          return gitFailure(err);
        });
      const { matches, more } = parseGrep(text(out.stdout, out.truncated), sha, input.limit, MAX_LINE_CHARS);
      return {
        repo: repo.name,
        ref: input.ref,
        commit: sha,
        pattern: input.pattern,
        regex: input.regex,
        matches,
        truncated: more || out.truncated,
      };
    },
  });
