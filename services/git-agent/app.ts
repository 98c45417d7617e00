import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createAgentService } from '../kit/agent-service.ts';
import { GIT_AGENT_METRICS } from '../../platform/metrics.ts';
import { POOLS } from '../../platform/pools.ts';
import { ConfigError } from '../kit/config.ts';
import { registerMetrics } from '../kit/metrics.ts';
import { gitActions } from './actions/index.ts';
import type { GitAgentConfig } from './config.ts';
import { createGitRunner, gitCommand } from './git.ts';
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

/** Refuses to start when git is to be memory-bounded and the bounding command cannot run. */
async function requireMemoryBound(config: GitAgentConfig): Promise<void> {
  if (config.GIT_MAX_MEMORY_BYTES === 0) return;
  const [file, args] = gitCommand(config.GIT_MAX_MEMORY_BYTES, ['--version']);
  try {
    await promisify(execFile)(file, args, { timeout: config.GIT_TIMEOUT_MS });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return; // git itself: the health check reports it
    throw new ConfigError([
      `GIT_MAX_MEMORY_BYTES: ${file} (util-linux) is not on PATH, so git cannot be bounded; install it or set 0 to run git unbounded`,
    ]);
  }
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
        // Through the same memory bound as every git command, so a missing prlimit shows here too.
        const [file, args] = gitCommand(config.GIT_MAX_MEMORY_BYTES, ['--version']);
        snapshot.git_version ??= (
          await promisify(execFile)(file, args, { timeout: config.GIT_TIMEOUT_MS })
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
      agent.parts.reposGauge.set(snapshot.repos);
    })().finally(() => (refreshing = undefined));
    return refreshing;
  };
  const current = (): HealthSnapshot => {
    if (Date.now() - lastRefresh >= HEALTH_REFRESH_MS) void refresh();
    return snapshot;
  };

  const agent = createAgentService({
    pool: 'git',
    serviceName: POOLS.git.service,
    config,
    build: ({ registry, log }) => {
      const git = createGitRunner({
        reposRoot: repos.root,
        timeoutMs: config.GIT_TIMEOUT_MS,
        maxBytes: config.GIT_MAX_OUTPUT_BYTES,
        maxConcurrent: config.GIT_MAX_CONCURRENT,
        maxMemoryBytes: config.GIT_MAX_MEMORY_BYTES,
        registry,
      });
      return {
        actions: gitActions({ config, repos, git }),
        healthDetail: () => ({ ...current() }),
        sources: {
          ...gitSources({ repos, git }),
          publish: publishRefs({
            repos,
            git,
            recheckMs: config.GIT_REFS_RECHECK_MS,
            maxRefs: config.GIT_MAX_PUBLISHED_REFS,
            log,
          }),
        },
        reposGauge: registerMetrics({ repos: GIT_AGENT_METRICS.repos }, registry).repos,
      };
    },
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
      await requireMemoryBound(config);
      await refresh();
      return agent.start(port, host);
    },
  };
}

export type GitAgent = ReturnType<typeof createGitAgent>;
