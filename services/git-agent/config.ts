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
});

export type GitAgentConfig = z.infer<typeof gitAgentConfigSchema>;

export function loadGitAgentConfig(env: NodeJS.ProcessEnv = process.env): GitAgentConfig {
  return loadConfig(gitAgentConfigSchema, env);
}
