import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { ref, repoName, repoPath } from '../inputs.ts';
import { parseNumstat } from '../parse.ts';
import { REPO, revision } from '../sources.ts';
import { IMMUTABLE_TTL, records, text, type GitActionDeps, type GitTools } from './tools.ts';

export const diffAction = ({ repos, commitOf, run, staleSeconds }: GitTools, { config }: GitActionDeps) =>
  defineAction({
    name: 'diff',
    description:
      'The patch between two refs (from..to), optionally limited to a path, with per-file line counts; the patch is capped at max_bytes and says when it was truncated.',
    input: z.strictObject({
      repo: repoName,
      from: ref,
      to: ref,
      path: repoPath.optional(),
      context: z.number().int().min(0).max(100).default(3).describe('Context lines around each hunk.'),
      max_bytes: z
        .number()
        .int()
        .min(1)
        .max(config.GIT_MAX_DIFF_BYTES)
        .optional()
        .describe('Largest patch returned.'),
    }),
    cacheable: true,
    ttl_seconds: IMMUTABLE_TTL,
    version_from: [REPO, revision('from'), revision('to')],
    stale_if_error_seconds: staleSeconds,
    run: async (input, ctx) => {
      const repo = await repos.get(input.repo);
      const from = await commitOf(repo, input.from, ctx.signal, 'input.from');
      const to = await commitOf(repo, input.to, ctx.signal, 'input.to');
      const paths = ['--', ...(input.path ? [input.path] : [])];
      const common = ['--no-color', '--no-ext-diff', '--no-textconv', '-M'];
      const maxBytes = input.max_bytes ?? config.GIT_MAX_DIFF_BYTES;
      const [stat, patch] = await Promise.all([
        run(repo, ['diff', ...common, '--numstat', '-z', from, to, ...paths], ctx.signal),
        run(repo, ['diff', ...common, `--unified=${input.context}`, from, to, ...paths], ctx.signal, {
          maxBytes,
        }),
      ]);
      let diff = text(patch.stdout, patch.truncated);
      // Cut at a line boundary so the last hunk line shown is whole.
      if (patch.truncated && diff.includes('\n')) diff = diff.slice(0, diff.lastIndexOf('\n') + 1);
      return {
        repo: repo.name,
        from,
        to,
        path: input.path ?? null,
        files: parseNumstat(records(stat, '\0')),
        diff,
        bytes: Buffer.byteLength(diff),
        truncated: patch.truncated || stat.truncated,
      };
    },
  });
