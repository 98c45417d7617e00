import { z } from 'zod';
import { defineAction, type AgentAction } from '../kit/agent-service.ts';
import { Problem, badRequest } from '../kit/problem.ts';
import type { GitAgentConfig } from './config.ts';
import { commitOf as commitAt } from './commits.ts';
import { GitError, type GitRunner } from './git.ts';
import { filePath, ref, repoName, repoPath } from './inputs.ts';
import {
  LOG_FORMAT,
  parseBlame,
  parseGrep,
  parseLog,
  parseLsTree,
  parseNameStatus,
  parseNumstat,
  type TreeEntry,
} from './parse.ts';
import { type Repo, type Repos } from './repos.ts';
import { REPO, REPOS, revision } from './sources.ts';

/** Answers keyed by a commit SHA never change; the orchestrator caps this at CACHE_MAX_TTL_SECONDS. */
const IMMUTABLE_TTL = 86400;
const MAX_LINE_CHARS = 2000;
const MAX_BLAME_LINES = 20000;

const fieldError = (field: string, message: string) =>
  badRequest(`${field}: ${message}`, [{ field, message }]);

/** Git failures we did not foresee are the agent's (500), with git's first words for the log. */
const gitFailure = (err: unknown): never => {
  if (err instanceof GitError) {
    throw new Problem(500, 'git-failed', `git failed: ${err.stderr.split('\n')[0]?.slice(0, 300) ?? ''}`);
  }
  throw err;
};

/** Decodes git output; content cut at the cap may end inside a UTF-8 sequence, so drop that tail. */
const text = (buf: Buffer, truncated: boolean): string => {
  const s = buf.toString('utf8');
  return truncated ? s.replace(/\uFFFD+$/, '') : s;
};

/** Output cut at the cap ends inside a record: keep only the records before the last `separator`. */
const records = (out: { stdout: Buffer; truncated: boolean }, separator: '\0' | '\n'): string => {
  const s = text(out.stdout, out.truncated);
  return out.truncated ? s.slice(0, s.lastIndexOf(separator) + 1) : s;
};

const cursorPattern = /^([0-9a-f]{40}(?:[0-9a-f]{24})?)\.(\d{1,7})$/;

export function gitActions(deps: { config: GitAgentConfig; repos: Repos; git: GitRunner }): AgentAction[] {
  const { config, repos, git } = deps;
  const staleSeconds = config.GIT_STALE_IF_ERROR_SECONDS;

  const run = (repo: Repo, args: string[], signal: AbortSignal, extra: { maxBytes?: number } = {}) =>
    git.run({ gitDir: repo.gitDir, args, signal, ...extra }).catch(gitFailure);

  const commitOf = (repo: Repo, rev: string, signal: AbortSignal, field = 'input.ref') =>
    commitAt(git, repo, rev, signal, field);

  const at = async (input: { repo: string; ref: string }, signal: AbortSignal) => {
    const repo = await repos.get(input.repo);
    return { repo, sha: await commitOf(repo, input.ref, signal) };
  };

  /** The tree entry at `path` in commit `sha`, or a 404 naming the path. */
  const entryAt = async (repo: Repo, sha: string, path: string, signal: AbortSignal): Promise<TreeEntry> => {
    const out = await run(repo, ['ls-tree', '-z', '--long', '--full-tree', sha, '--', path], signal);
    const entry = parseLsTree(out.stdout.toString('utf8')).find((e) => e.path === path);
    if (!entry) {
      throw new Problem(404, 'not-found', `input.path: "${path}" does not exist at ${sha.slice(0, 12)}`, {
        extensions: { errors: [{ field: 'input.path', message: 'does not exist at this commit' }] },
      });
    }
    return entry;
  };

  const blobAt = async (repo: Repo, sha: string, path: string, signal: AbortSignal) => {
    const entry = await entryAt(repo, sha, path, signal);
    if (entry.type !== 'blob') {
      throw fieldError('input.path', `is a ${entry.type === 'tree' ? 'directory' : 'submodule'}, not a file`);
    }
    return entry;
  };

  const logInput = z.strictObject({
    repo: repoName,
    ref: ref.default('HEAD'),
    path: repoPath.optional(),
    limit: z.number().int().min(1).max(200).default(20).describe('Commits per page.'),
    skip: z.number().int().min(0).max(1000000).optional().describe('Commits to skip (first page: 0).'),
    cursor: z
      .string()
      .regex(cursorPattern, 'expected a next_cursor from an earlier page')
      .optional()
      .describe('`next_cursor` of the previous page; pages stay on the commit the first page started at.'),
  });
  type LogInput = z.infer<typeof logInput>;
  /** Where a page starts: the cursor's commit and offset, or the ref's commit and `skip`. */
  const logStart = async (input: LogInput, signal: AbortSignal) => {
    const repo = await repos.get(input.repo);
    if (input.cursor) {
      if (input.skip !== undefined) throw fieldError('input.cursor', 'give either cursor or skip, not both');
      const [, sha, offset] = cursorPattern.exec(input.cursor)!;
      return { repo, sha: await commitOf(repo, sha!, signal, 'input.cursor'), skip: Number(offset) };
    }
    return { repo, sha: await commitOf(repo, input.ref, signal), skip: input.skip ?? 0 };
  };

  return [
    defineAction({
      name: 'repos',
      description: 'Lists the repositories under the root: {repos: [{name, bare}]}.',
      input: z.strictObject({}),
      cacheable: true,
      ttl_seconds: 30,
      version_from: [REPOS],
      stale_if_error_seconds: staleSeconds,
      run: async () => ({ repos: (await repos.list()).map((r) => ({ name: r.name, bare: r.bare })) }),
    }),

    defineAction({
      name: 'log',
      description:
        'Commits reachable from a ref, newest first, optionally only those touching a path; paged with limit and skip or cursor.',
      input: logInput,
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      // A cursor names its commit: only the repository's existence moves the answer then.
      version_from: [REPO, { ...revision('ref', 'HEAD'), unless: 'cursor' }],
      stale_if_error_seconds: staleSeconds,
      run: async (input, ctx) => {
        const { repo, sha, skip } = await logStart(input, ctx.signal);
        const out = await run(
          repo,
          [
            'log',
            '-z',
            `--format=${LOG_FORMAT}`,
            `--skip=${skip}`,
            `--max-count=${input.limit + 1}`,
            sha,
            '--',
            ...(input.path ? [input.path] : []),
          ],
          ctx.signal,
        );
        const commits = parseLog(text(out.stdout, out.truncated));
        // Output cut at the cap ends inside a commit: drop it; the cursor picks it up on the next page.
        if (out.truncated) commits.pop();
        const more = out.truncated || commits.length > input.limit;
        const page = commits.slice(0, input.limit);
        return {
          repo: repo.name,
          ref: input.cursor ? null : input.ref,
          commit: sha,
          path: input.path ?? null,
          skip,
          commits: page,
          next_cursor: more ? `${sha}.${skip + page.length}` : null,
          truncated: out.truncated,
        };
      },
    }),

    defineAction({
      name: 'show',
      description:
        'One commit: its metadata and the files it changed (against its first parent) with status.',
      input: z.strictObject({ repo: repoName, ref: ref.default('HEAD') }),
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      version_from: [REPO, revision('ref', 'HEAD')],
      stale_if_error_seconds: staleSeconds,
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
    }),

    defineAction({
      name: 'diff',
      description:
        'The patch between two refs (from..to), optionally limited to a path, with per-file line counts; the patch is capped at max_bytes and says when it was truncated.',
      input: z.strictObject({
        repo: repoName,
        from: ref,
        to: ref,
        path: repoPath.optional(),
        context: z.number().int().min(0).max(100).default(3).describe('Context lines around each hunk.'),
        max_bytes: z
          .number()
          .int()
          .min(1)
          .max(config.GIT_MAX_DIFF_BYTES)
          .optional()
          .describe('Largest patch returned.'),
      }),
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      version_from: [REPO, revision('from'), revision('to')],
      stale_if_error_seconds: staleSeconds,
      run: async (input, ctx) => {
        const repo = await repos.get(input.repo);
        const from = await commitOf(repo, input.from, ctx.signal, 'input.from');
        const to = await commitOf(repo, input.to, ctx.signal, 'input.to');
        const paths = ['--', ...(input.path ? [input.path] : [])];
        const common = ['--no-color', '--no-ext-diff', '--no-textconv', '-M'];
        const maxBytes = input.max_bytes ?? config.GIT_MAX_DIFF_BYTES;
        const [stat, patch] = await Promise.all([
          run(repo, ['diff', ...common, '--numstat', '-z', from, to, ...paths], ctx.signal),
          run(repo, ['diff', ...common, `--unified=${input.context}`, from, to, ...paths], ctx.signal, {
            maxBytes,
          }),
        ]);
        let diff = text(patch.stdout, patch.truncated);
        // Cut at a line boundary so the last hunk line shown is whole.
        if (patch.truncated && diff.includes('\n')) diff = diff.slice(0, diff.lastIndexOf('\n') + 1);
        return {
          repo: repo.name,
          from,
          to,
          path: input.path ?? null,
          files: parseNumstat(records(stat, '\0')),
          diff,
          bytes: Buffer.byteLength(diff),
          truncated: patch.truncated || stat.truncated,
        };
      },
    }),

    defineAction({
      name: 'tree',
      description:
        'Files at a ref, optionally under a folder: path, mode, type, object and size; recursive by default.',
      input: z.strictObject({
        repo: repoName,
        ref: ref.default('HEAD'),
        path: repoPath.optional().describe('Folder to list (default: the repository root).'),
        recursive: z.boolean().default(true),
        limit: z.number().int().min(1).max(50000).default(5000).describe('Most entries returned.'),
      }),
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      version_from: [REPO, revision('ref', 'HEAD')],
      stale_if_error_seconds: staleSeconds,
      run: async (input, ctx) => {
        const { repo, sha } = await at(input, ctx.signal);
        const prefix = input.path ?? '';
        if (prefix) {
          const entry = await entryAt(repo, sha, prefix, ctx.signal);
          if (entry.type !== 'tree') throw fieldError('input.path', 'is not a folder');
        }
        const out = await run(
          repo,
          [
            'ls-tree',
            '-z',
            '--long',
            '--full-tree',
            ...(input.recursive ? ['-r'] : []),
            sha,
            '--',
            ...(prefix ? [`${prefix}/`] : []),
          ],
          ctx.signal,
        );
        const entries = parseLsTree(records(out, '\0'));
        return {
          repo: repo.name,
          ref: input.ref,
          commit: sha,
          path: prefix,
          entries: entries.slice(0, input.limit),
          truncated: out.truncated || entries.length > input.limit,
        };
      },
    }),

    defineAction({
      name: 'read',
      description:
        'A file\u2019s content at a ref (UTF-8 text), capped at max_bytes. Binary files are reported (binary: true) without content; a symlink gives its target text.',
      input: z.strictObject({
        repo: repoName,
        ref: ref.default('HEAD'),
        path: filePath,
        max_bytes: z
          .number()
          .int()
          .min(1)
          .max(config.GIT_MAX_FILE_BYTES)
          .optional()
          .describe('Most bytes of content returned.'),
      }),
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      version_from: [REPO, revision('ref', 'HEAD')],
      stale_if_error_seconds: staleSeconds,
      run: async (input, ctx) => {
        const { repo, sha } = await at(input, ctx.signal);
        const entry = await blobAt(repo, sha, input.path, ctx.signal);
        const maxBytes = input.max_bytes ?? config.GIT_MAX_FILE_BYTES;
        const out = await run(repo, ['cat-file', 'blob', entry.object], ctx.signal, { maxBytes });
        // git's own test: a NUL in the first 8000 bytes means binary.
        const binary = out.stdout.subarray(0, 8000).includes(0);
        const symlink = entry.mode === '120000';
        return {
          repo: repo.name,
          ref: input.ref,
          commit: sha,
          path: input.path,
          mode: entry.mode,
          type: symlink ? 'symlink' : 'file',
          size: entry.size,
          binary,
          encoding: binary ? null : 'utf-8',
          content: binary ? null : text(out.stdout, out.truncated),
          truncated: out.truncated,
        };
      },
    }),

    defineAction({
      name: 'grep',
      description:
        'Lines matching a pattern in the files at a ref: a fixed string unless regex is true (POSIX extended). Binary files are skipped; results are capped at limit.',
      input: z.strictObject({
        repo: repoName,
        ref: ref.default('HEAD'),
        pattern: z
          .string()
          .min(1)
          .max(1000)
          .refine(
            (s) => !s.includes('\0') && !s.includes('\n') && !s.includes('\r'),
            'must be one line without NUL',
          ),
        regex: z.boolean().default(false).describe('Read pattern as a POSIX extended regular expression.'),
        ignore_case: z.boolean().default(false),
        path: repoPath.optional().describe('Search only under this path.'),
        limit: z.number().int().min(1).max(1000).default(100).describe('Most matches returned.'),
      }),
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      version_from: [REPO, revision('ref', 'HEAD')],
      stale_if_error_seconds: staleSeconds,
      run: async (input, ctx) => {
        const { repo, sha } = await at(input, ctx.signal);
        const out = await git
          .run({
            gitDir: repo.gitDir,
            signal: ctx.signal,
            allowExit: [1],
            timeoutIsCallersFault: input.regex,
            args: [
              'grep',
              '-z',
              '-n',
              '-I',
              '--no-color',
              '--no-textconv',
              input.regex ? '-E' : '-F',
              ...(input.ignore_case ? ['-i'] : []),
              '-e',
              input.pattern,
              sha,
              '--',
              ...(input.path ? [input.path] : []),
            ],
          })
          .catch((err: unknown) => {
            if (err instanceof GitError && input.regex && err.code === 128) {
              const reason = err.stderr
                .replace(/^fatal: /, '')
                .split('\n')[0]!
                .slice(0, 200);
              throw fieldError('input.pattern', `not a valid extended regular expression (${reason})`);
            }
            return gitFailure(err);
          });
        const { matches, more } = parseGrep(
          text(out.stdout, out.truncated),
          sha,
          input.limit,
          MAX_LINE_CHARS,
        );
        return {
          repo: repo.name,
          ref: input.ref,
          commit: sha,
          pattern: input.pattern,
          regex: input.regex,
          matches,
          truncated: more || out.truncated,
        };
      },
    }),

    defineAction({
      name: 'blame',
      description:
        'Who last changed each line of a file at a ref: ranges of consecutive lines with their commit, author and summary.',
      input: z
        .strictObject({
          repo: repoName,
          ref: ref.default('HEAD'),
          path: filePath,
          start_line: z.number().int().min(1).max(10000000).optional(),
          end_line: z.number().int().min(1).max(10000000).optional(),
        })
        .refine((i) => !i.start_line || !i.end_line || i.start_line <= i.end_line, {
          message: 'must not be below start_line',
          path: ['end_line'],
        }),
      cacheable: true,
      ttl_seconds: IMMUTABLE_TTL,
      version_from: [REPO, revision('ref', 'HEAD')],
      stale_if_error_seconds: staleSeconds,
      run: async (input, ctx) => {
        const { repo, sha } = await at(input, ctx.signal);
        const entry = await blobAt(repo, sha, input.path, ctx.signal);
        const answer = { repo: repo.name, ref: input.ref, commit: sha, path: input.path };
        if (entry.size === 0) return { ...answer, ranges: [], truncated: false };
        const start = input.start_line ?? 1;
        const end = input.end_line ?? start + MAX_BLAME_LINES - 1;
        if (end - start + 1 > MAX_BLAME_LINES) {
          throw fieldError('input.end_line', `at most ${MAX_BLAME_LINES} lines at once`);
        }
        const out = await git
          .run({
            gitDir: repo.gitDir,
            signal: ctx.signal,
            args: ['blame', '--porcelain', '--no-textconv', '-L', `${start},${end}`, sha, '--', input.path],
          })
          .catch((err: unknown) => {
            const lines = err instanceof GitError && /has only (\d+) lines?/.exec(err.stderr);
            if (lines) throw fieldError('input.start_line', `the file has only ${lines[1]} lines`);
            return gitFailure(err);
          });
        const ranges = parseBlame(records(out, '\n'));
        // A range cut by the output cap may lack its last lines; the flag says so.
        return { ...answer, ranges, truncated: out.truncated };
      },
    }),
  ];
}
