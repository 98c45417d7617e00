import { execFile, type ExecFileException } from 'node:child_process';
import path from 'node:path';
import { GIT_AGENT_METRICS } from '../../platform/metrics.ts';
import { registerMetrics, type client } from '../kit/metrics.ts';
import { Problem, unavailable } from '../kit/problem.ts';
import { gitEnvironment, hardeningArgs } from './git-hardening.ts';

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

/**
 * How git reports that its address-space bound refused it memory: xmalloc's and mmap's "fatal: Out of
 * memory...", a regex compiler's "...: Memory exhausted" (REG_ESPACE, after the echoed pattern, so it
 * is matched only at the end of the line); or a crash on one.
 */
const OUT_OF_MEMORY = /^fatal: Out of memory|: Memory exhausted$/m;
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGABRT']);

/** The repository's own folder: the parent of `.git`, or a bare repository's git directory. */
const repositoryFolder = (gitDir: string) =>
  path.basename(gitDir) === '.git' ? path.dirname(gitDir) : gitDir;

/**
 * The command that runs git: `prlimit` (util-linux) sets the child's address-space and core-dump limits
 * and then becomes git (the same process, so a timeout's SIGKILL reaches git). Node cannot set a
 * child's rlimits itself, and the image has no shell.
 */
export const gitCommand = (maxMemoryBytes: number, args: string[]): [string, string[]] =>
  maxMemoryBytes > 0
    ? ['prlimit', [`--as=${maxMemoryBytes}`, '--core=0', '--', 'git', ...args]]
    : ['git', args];

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

/**
 * Runs the real `git` binary with an argument array (never a shell), bounded in time, output and
 * concurrency, and counted in `agent_git_*` metrics.
 */
export function createGitRunner(opts: {
  reposRoot: string;
  timeoutMs: number;
  maxBytes: number;
  maxConcurrent: number;
  /** Address-space bound of each git process; 0 leaves it unbounded. */
  maxMemoryBytes: number;
  registry: client.Registry;
}) {
  const m = GIT_AGENT_METRICS;
  const { commands, duration, truncations, inFlight, maxMemory } = registerMetrics(
    {
      commands: m.commands,
      duration: m.commandDuration,
      truncations: m.truncations,
      inFlight: m.inFlight,
      maxMemory: m.maxMemoryBytes,
    },
    opts.registry,
  );
  maxMemory.set(opts.maxMemoryBytes);
  const env = gitEnvironment(opts.reposRoot);
  const hardening = hardeningArgs(opts.maxMemoryBytes);
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
    const [file, args] = gitCommand(opts.maxMemoryBytes, [
      '--no-pager',
      '--literal-pathspecs',
      '--git-dir',
      call.gitDir,
      '-c',
      `safe.directory=${repositoryFolder(call.gitDir)}`,
      '-c',
      `safe.directory=${call.gitDir}`,
      ...hardening,
      ...call.args,
    ]);
    running += 1;
    inFlight.set(running);
    const start = process.hrtime.bigint();
    return new Promise<GitResult>((resolve, reject) => {
      execFile(
        file,
        args,
        {
          encoding: 'buffer',
          env,
          // git reads some files relative to where it runs (.gitattributes, .mailmap): inside the
          // git directory they can only be the repository's own.
          cwd: call.gitDir,
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
          if (
            opts.maxMemoryBytes > 0 &&
            (OUT_OF_MEMORY.test(stderr) || CRASH_SIGNALS.has(err.signal ?? ''))
          ) {
            commands.inc({ command, outcome: 'memory' });
            // Deterministic for its input, unlike a timeout on a busy machine: the request is too big.
            reject(
              new Problem(
                422,
                'too-expensive',
                `git ${command} needed more than its ${opts.maxMemoryBytes}-byte memory bound; ask for less`,
              ),
            );
            return;
          }
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
