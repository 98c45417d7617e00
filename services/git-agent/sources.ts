import type { AgentSources } from '../kit/agent-service.ts';
import { badRequest } from '../kit/problem.ts';
import type { VersionPart } from '../kit/versions.ts';
import { commitOf } from './commits.ts';
import type { GitRunner } from './git.ts';
import { listVersion, type Repos } from './repos.ts';

/**
 * The git pool's sources (services/kit/versions.ts), published by the ref publisher and looked up live
 * by `/resolve`; both give the same values:
 *   ["repos"]             the repository list's version (listVersion)
 *   ["repo", name]        "bare" or "work" while the repository exists
 *   ["ref", name, rev]    the commit `rev` names (a tag peeled to its commit), as git's rev-parse finds it
 */
export const REPOS: VersionPart = { source: 'repos' };
export const REPO: VersionPart = { source: 'repo', args: [{ input: 'repo' }] };
/** A revision field: a full commit id is its own version; anything else is the commit it names now. */
export const revision = (field: string, fallback?: string): VersionPart => ({
  source: 'ref',
  args: [{ input: 'repo' }, { input: field, ...(fallback !== undefined ? { default: fallback } : {}) }],
  object_id_is_immutable: true,
  field: `input.${field}`,
});

export const repoKind = (bare: boolean) => (bare ? 'bare' : 'work');

export function gitSources(deps: { repos: Repos; git: GitRunner }): Pick<AgentSources, 'lookup'> {
  const { repos, git } = deps;
  return {
    lookup: async (kind, args, { field, signal }) => {
      if (kind === 'repos') return listVersion(await repos.list());
      const repo = await repos.get(args[0]!);
      if (kind === 'repo') return repoKind(repo.bare);
      if (kind === 'ref') return commitOf(git, repo, args[1]!, signal, field);
      throw badRequest(`no source of kind ${kind}`);
    },
  };
}
