import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { ref, repoName, repoPath } from '../inputs.ts';
import { parseLsTree } from '../parse.ts';
import { fieldError, records, type GitTools } from './tools.ts';

export const treeAction = ({ at, entryAt, run, keyedByRef }: GitTools) =>
  defineAction({
    name: 'tree',
    description:
      'Files at a ref, optionally under a folder: path, mode, type, object and size; recursive by default.',
    input: z.strictObject({
      repo: repoName,
      ref: ref.default('HEAD'),
      path: repoPath.optional().describe('Folder to list (default: the repository root).'),
      recursive: z.boolean().default(true),
      limit: z.number().int().min(1).max(50000).default(5000).describe('Most entries returned.'),
    }),
    ...keyedByRef,
    run: async (input, ctx) => {
      const { repo, sha } = await at(input, ctx.signal);
      const prefix = input.path ?? '';
      if (prefix) {
        const entry = await entryAt(repo, sha, prefix, ctx.signal);
        if (entry.type !== 'tree') throw fieldError('input.path', 'is not a folder');
      }
      const out = await run(
        repo,
        [
          'ls-tree',
          '-z',
          '--long',
          '--full-tree',
          ...(input.recursive ? ['-r'] : []),
          sha,
          '--',
          ...(prefix ? [`${prefix}/`] : []),
        ],
        ctx.signal,
      );
      const entries = parseLsTree(records(out, '\0'));
      return {
        repo: repo.name,
        ref: input.ref,
        commit: sha,
        path: prefix,
        entries: entries.slice(0, input.limit),
        truncated: out.truncated || entries.length > input.limit,
      };
    },
  });
