import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createAgentService } from '../kit/agent-service.ts';
import { client } from '../kit/metrics.ts';
import { gitActions } from './actions.ts';
import type { GitAgentConfig } from './config.ts';
import { createGitRunner, type GitRunner } from './git.ts';
import { publishRefs } from './ref-publisher.ts';
import { createRepos } from './repos.ts';
import { gitSources } from './sources.ts';

/** Health detail is read by the heartbeat synchronously, so it is refreshed in the background at most this often. */
const HEALTH_REFRESH_MS = 5000;

interface HealthSnapshot {
  repos_root: string;
  repos_root_readable: boolean;
  repos: number;
  git_version: string | null;
  checked_at: string | null;
}

/** The git agent pool: read-only git actions over the repositories under GIT_REPOS_ROOT. */
export function createGitAgent(config: GitAgentConfig) {
  const repos = createRepos(config.GIT_REPOS_ROOT);
  const snapshot: HealthSnapshot = {
    repos_root: repos.root,
    repos_root_readable: false,
    repos: 0,
    git_version: null,
    checked_at: null,
  };
  let refreshing: Promise<void> | undefined;
  let lastRefresh = 0;
  const refresh = () => {
    lastRefresh = Date.now();
    refreshing ??= (async () => {
      try {
        snapshot.git_version ??= (
          await promisify(execFile)('git', ['--version'], { timeout: config.GIT_TIMEOUT_MS })
        ).stdout.trim();
      } catch {
        snapshot.git_version = null;
      }
      try {
        await access(repos.root, constants.R_OK | constants.X_OK);
        snapshot.repos = (await repos.list()).length;
        snapshot.repos_root_readable = true;
      } catch {
        snapshot.repos_root_readable = false;
        snapshot.repos = 0;
      }
      snapshot.checked_at = new Date().toISOString();
      reposGauge.set(snapshot.repos);
    })().finally(() => (refreshing = undefined));
    return refreshing;
  };
  const current = (): HealthSnapshot => {
    if (Date.now() - lastRefresh >= HEALTH_REFRESH_MS) void refresh();
    return snapshot;
  };

  // The service's registry exists only once the agent is created, and the actions need the runner:
  // build the agent with actions that reach the runner through this holder.
  const holder: { git?: GitRunner } = {};
  const git: GitRunner = { run: (call) => holder.git!.run(call) };
  const agent = createAgentService({
    pool: 'git',
    serviceName: 'git-agent',
    config,
    actions: gitActions({ config, repos, git }),
    healthDetail: () => ({ ...current() }),
    sources: {
      ...gitSources({ repos, git }),
      publish: (publisher) =>
        publishRefs({
          repos,
          git,
          recheckMs: config.GIT_REFS_RECHECK_MS,
          maxRefs: config.GIT_MAX_PUBLISHED_REFS,
          log: agent.service.log,
        })(publisher),
    },
  });
  const registry = agent.service.metrics.registry;
  holder.git = createGitRunner({
    reposRoot: repos.root,
    timeoutMs: config.GIT_TIMEOUT_MS,
    maxBytes: config.GIT_MAX_OUTPUT_BYTES,
    maxConcurrent: config.GIT_MAX_CONCURRENT,
    registry,
  });
  const reposGauge = new client.Gauge({
    name: 'agent_git_repos',
    help: 'Repositories found under GIT_REPOS_ROOT at the last health check.',
    registers: [registry],
  });
  agent.service.health.register('repos_root', true, () => {
    const s = current();
    return {
      ok: s.checked_at === null || (s.repos_root_readable && s.git_version !== null),
      detail: { ...s },
    };
  });

  return {
    ...agent,
    /** Refreshes the health snapshot now (the first one is taken before listening). */
    refreshHealth: refresh,
    async start(port?: number, host?: string) {
      await refresh();
      return agent.start(port, host);
    },
  };
}

export type GitAgent = ReturnType<typeof createGitAgent>;
