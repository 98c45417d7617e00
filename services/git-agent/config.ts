import { z } from 'zod';
import { agentConfigSchema } from '../kit/agent-service.ts';
import { int, loadConfig } from '../kit/config.ts';

export const gitAgentConfigSchema = agentConfigSchema.extend({
  GIT_REPOS_ROOT: z
    .string()
    .min(1)
    .describe(
      'Folder whose immediate subfolders are the git repositories served (bare or not), each named by its folder name. Required.',
    ),
  GIT_TIMEOUT_MS: int(5000, 100, 600000).describe(
    'Bound on one git command; past it the command is killed and the action answers 504 (422 for a regex search).',
  ),
  GIT_MAX_OUTPUT_BYTES: int(8 * 1048576, 65536, 256 * 1048576).describe(
    'Most output read from one git command; beyond it the command is stopped and the answer says `truncated`.',
  ),
  GIT_MAX_FILE_BYTES: int(1048576, 1024, 64 * 1048576).describe(
    'Largest file content `read` returns (and the upper bound of its `max_bytes`); longer content is truncated.',
  ),
  GIT_MAX_DIFF_BYTES: int(1048576, 1024, 64 * 1048576).describe(
    'Largest patch text `diff` returns (and the upper bound of its `max_bytes`); longer patches are truncated.',
  ),
  GIT_MAX_CONCURRENT: int(16, 1, 1024).describe(
    'git processes one instance runs at once; further actions answer 503 with Retry-After.',
  ),
  GIT_MAX_MEMORY_BYTES: int(256 * 1048576, 0, 64 * 1073741824)
    .refine(
      (n) => n === 0 || n >= 16 * 1048576,
      'expected 0 (unbounded) or at least 16777216 (git needs that much to start)',
    )
    .describe(
      'Address-space bound of each git process (set with prlimit, which must be on PATH); git refused memory past it answers 422. 0: unbounded.',
    ),
  GIT_STALE_IF_ERROR_SECONDS: int(86400, 0, 30 * 86400).describe(
    'How old a cached answer may be and still be served (`X-Cache: STALE`) while the git pool is unreachable or failing (answers are keyed by commit, so an old one is still right for its commit); 0: never.',
  ),
  GIT_REFS_RECHECK_MS: int(1000, 100, 600000).describe(
    'How often each repository\u2019s refs are checked for changes the file watcher missed (a network volume); bounds how late a moved branch is published then.',
  ),
  GIT_MAX_PUBLISHED_REFS: int(2000, 0, 1000000).describe(
    'Refs per repository whose commits are published for orchestrators; a repository with more publishes only HEAD and full ref names, and short names are resolved on request.',
  ),
});

export type GitAgentConfig = z.infer<typeof gitAgentConfigSchema>;

export function loadGitAgentConfig(env: NodeJS.ProcessEnv = process.env): GitAgentConfig {
  return loadConfig(gitAgentConfigSchema, env);
}
