import type { AgentAction } from '../../kit/agent-service.ts';
import { blameAction } from './blame.ts';
import { diffAction } from './diff.ts';
import { grepAction } from './grep.ts';
import { logAction } from './log.ts';
import { readAction } from './read.ts';
import { reposAction } from './repos.ts';
import { showAction } from './show.ts';
import { gitTools, type GitActionDeps } from './tools.ts';
import { treeAction } from './tree.ts';

/** The git pool's actions, one module each, in catalogue order. */
export function gitActions(deps: GitActionDeps): AgentAction[] {
  const tools = gitTools(deps);
  return [
    reposAction(tools),
    logAction(tools),
    showAction(tools),
    diffAction(tools, deps),
    treeAction(tools),
    readAction(tools, deps),
    grepAction(tools),
    blameAction(tools),
  ];
}
