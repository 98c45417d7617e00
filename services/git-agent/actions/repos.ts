import { z } from 'zod';
import { defineAction } from '../../kit/agent-service.ts';
import { REPOS } from '../sources.ts';
import type { GitTools } from './tools.ts';

export const reposAction = ({ repos, staleSeconds }: GitTools) =>
  defineAction({
    name: 'repos',
    description: 'Lists the repositories under the root: {repos: [{name, bare}]}.',
    input: z.strictObject({}),
    cacheable: true,
    ttl_seconds: 30,
    version_from: [REPOS],
    stale_if_error_seconds: staleSeconds,
    run: async () => ({ repos: (await repos.list()).map((r) => ({ name: r.name, bare: r.bare })) }),
  });
