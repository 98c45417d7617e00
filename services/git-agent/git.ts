import { execFile, type ExecFileException } from 'node:child_process';
import { GIT_AGENT_METRICS } from '../../platform/metrics.ts';
import { registerMetrics, type client } from '../kit/metrics.ts';
import { Problem, unavailable } from '../kit/problem.ts';

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  /** git's exit code; 0 unless `allowExit` let a non-zero code through. */
  code: number;
  /** The output reached the cap and git was stopped: `stdout` holds the first `maxBytes`. */
  truncated: boolean;
}

export interface GitCall {
  /** The repository's git directory (`<repo>/.git`, or the bare repository itself). */
  gitDir: string;
  args: string[];
  signal?: AbortSignal;
  /** Overrides the runner's output cap for this call. */
  maxBytes?: number;
  /** Exit codes other than 0 that are answers rather than failures (`git grep` exits 1 on no match). */
  allowExit?: number[];
  /** Makes a timeout the caller's fault (an expensive pattern they chose) rather than the agent's. */
  timeoutIsCallersFault?: boolean;
}

/** git failed; `stderr` is kept for callers that map known messages to 4xx problems. */
export class GitError extends Error {
  readonly code: number;
  readonly stderr: string;
  constructor(code: number, stderr: string) {
    super(`git exited ${code}: ${stderr.slice(0, 500)}`);
    this.name = 'GitError';
    this.code = code;
    this.stderr = stderr;
  }
}

/** The parent's environment without its GIT_* variables, and nothing that can prompt, page or fetch. */
function gitEnvironment(reposRoot: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GIT_')) env[name] = value;
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CEILING_DIRECTORIES: reposRoot,
    GIT_NO_LAZY_FETCH: '1',
    GIT_OPTIONAL_LOCKS: '0',
    LC_ALL: 'C',
    LANGUAGE: 'C',
  };
}

/**
 * Runs the real `git` binary with an argument array (never a shell), bounded in time, output and
 * concurrency, and counted in `agent_git_*` metrics.
 */
export function createGitRunner(opts: {
  reposRoot: string;
  timeoutMs: number;
  maxBytes: number;
  maxConcurrent: number;
  registry: client.Registry;
}) {
  const m = GIT_AGENT_METRICS;
  const { commands, duration, truncations, inFlight } = registerMetrics(
    { commands: m.commands, duration: m.commandDuration, truncations: m.truncations, inFlight: m.inFlight },
    opts.registry,
  );
  const env = gitEnvironment(opts.reposRoot);
  let running = 0;

  const run = (call: GitCall): Promise<GitResult> => {
    const command = call.args[0] ?? 'none';
    if (running >= opts.maxConcurrent) {
      commands.inc({ command, outcome: 'busy' });
      return Promise.reject(
        unavailable('git-busy', `${opts.maxConcurrent} git commands are already running`),
      );
    }
    const maxBytes = call.maxBytes ?? opts.maxBytes;
    const args = [
      '--no-pager',
      '--literal-pathspecs',
      '--git-dir',
      call.gitDir,
      '-c',
      `safe.directory=${call.gitDir.replace(/\/\.git$/, '')}`,
      '-c',
      `safe.directory=${call.gitDir}`,
      '-c',
      'core.quotepath=off',
      '-c',
      'color.ui=never',
      '-c',
      'protocol.allow=never',
      '-c',
      'log.showSignature=false',
      ...call.args,
    ];
    running += 1;
    inFlight.set(running);
    const start = process.hrtime.bigint();
    return new Promise<GitResult>((resolve, reject) => {
      execFile(
        'git',
        args,
        {
          encoding: 'buffer',
          env,
          cwd: opts.reposRoot,
          timeout: opts.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: maxBytes,
          windowsHide: true,
          ...(call.signal ? { signal: call.signal } : {}),
        },
        (err: ExecFileException | null, stdout: Buffer, stderrBuf: Buffer) => {
          running -= 1;
          inFlight.set(running);
          duration.observe({ command }, Number(process.hrtime.bigint() - start) / 1e9);
          const stderr = stderrBuf.toString('utf8');
          if (!err) {
            commands.inc({ command, outcome: 'ok' });
            resolve({ stdout, stderr, code: 0, truncated: false });
            return;
          }
          if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            commands.inc({ command, outcome: 'truncated' });
            truncations.inc({ command });
            resolve({ stdout, stderr, code: 0, truncated: true });
            return;
          }
          if (err.name === 'AbortError') {
            commands.inc({ command, outcome: 'aborted' });
            reject(new Problem(499, 'client-closed-request', 'the caller went away'));
            return;
          }
          if (err.killed) {
            commands.inc({ command, outcome: 'timeout' });
            reject(
              call.timeoutIsCallersFault
                ? new Problem(
                    422,
                    'too-expensive',
                    `git ${command} took longer than ${opts.timeoutMs} ms; use a simpler pattern`,
                  )
                : new Problem(504, 'git-timeout', `git ${command} took longer than ${opts.timeoutMs} ms`),
            );
            return;
          }
          const code = typeof err.code === 'number' ? err.code : -1;
          if (call.allowExit?.includes(code)) {
            commands.inc({ command, outcome: 'ok' });
            resolve({ stdout, stderr, code, truncated: false });
            return;
          }
          commands.inc({ command, outcome: 'failed' });
          reject(new GitError(code, stderr));
        },
      );
    });
  };

  return { run };
}

export type GitRunner = ReturnType<typeof createGitRunner>;
