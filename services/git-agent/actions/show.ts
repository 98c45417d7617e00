import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { ref, repoName } from '../inputs.ts';
import { LOG_FORMAT, parseLog, parseNameStatus } from '../parse.ts';
import { records, type GitTools } from './tools.ts';

export const showAction = ({ at, run, keyedByRef }: GitTools) =>
  defineAction({
    name: 'show',
    description: 'One commit: its metadata and the files it changed (against its first parent) with status.',
    input: z.strictObject({ repo: repoName, ref: ref.default('HEAD') }),
    ...keyedByRef,
    run: async (input, ctx) => {
      const { repo, sha } = await at(input, ctx.signal);
      const meta = await run(repo, ['log', '-z', '-1', `--format=${LOG_FORMAT}`, sha, '--'], ctx.signal);
      const commit = parseLog(meta.stdout.toString('utf8'))[0]!;
      const against = commit.parents[0] ? [commit.parents[0], sha] : ['--root', sha];
      const out = await run(
        repo,
        ['diff-tree', '-r', '-z', '--no-commit-id', '--name-status', '-M', ...against, '--'],
        ctx.signal,
      );
      return {
        repo: repo.name,
        ...commit,
        files: parseNameStatus(records(out, '\0')),
        truncated: out.truncated,
      };
    },
  });
