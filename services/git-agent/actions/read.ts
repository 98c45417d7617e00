import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { filePath, ref, repoName } from '../inputs.ts';
import { text, type GitActionDeps, type GitTools } from './tools.ts';

export const readAction = ({ fileAt, run, keyedByRef }: GitTools, { config }: GitActionDeps) =>
  defineAction({
    name: 'read',
    description:
      'A file\u2019s content at a ref (UTF-8 text), capped at max_bytes. Binary files are reported (binary: true) without content; a symlink gives its target text.',
    input: z.strictObject({
      repo: repoName,
      ref: ref.default('HEAD'),
      path: filePath,
      max_bytes: z
        .number()
        .int()
        .min(1)
        .max(config.GIT_MAX_FILE_BYTES)
        .optional()
        .describe('Most bytes of content returned.'),
    }),
    ...keyedByRef,
    run: async (input, ctx) => {
      const { repo, sha, entry } = await fileAt(input, ctx.signal);
      const maxBytes = input.max_bytes ?? config.GIT_MAX_FILE_BYTES;
      const out = await run(repo, ['cat-file', 'blob', entry.object], ctx.signal, { maxBytes });
      // git's own test: a NUL in the first 8000 bytes means binary.
      const binary = out.stdout.subarray(0, 8000).includes(0);
      const symlink = entry.mode === '120000';
      return {
        repo: repo.name,
        ref: input.ref,
        commit: sha,
        path: input.path,
        mode: entry.mode,
        type: symlink ? 'symlink' : 'file',
        size: entry.size,
        binary,
        encoding: binary ? null : 'utf-8',
        content: binary ? null : text(out.stdout, out.truncated),
        truncated: out.truncated,
      };
    },
  });
