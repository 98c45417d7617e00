import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGitAgent } from '../../services/git-agent/app.ts';
import { loadGitAgentConfig } from '../../services/git-agent/config.ts';

export interface Author {
  name: string;
  email: string;
}

export const ALICE: Author = { name: 'Alice Archer', email: 'alice@example.test' };
export const BOB: Author = { name: 'Bob Baker', email: 'bob@example.test' };
export const CAROL: Author = { name: 'Carol Cruz', email: 'carol@example.test' };
export const DAVE: Author = { name: 'Dave Dunn', email: 'dave@example.test' };

/** git with an environment free of the caller's GIT_* variables and global configuration. */
export function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) clean[k] = v;
  return execFileSync('git', args, {
    cwd,
    env: { ...clean, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1048576,
  }).replace(/\n$/, '');
}

let clock = Date.UTC(2025, 0, 1) / 1000;

/** Writes `files` (null deletes), stages everything and commits as `author` at a fixed, increasing time. */
export function commit(
  dir: string,
  author: Author,
  message: string,
  files: Record<string, string | Buffer | null> = {},
): string {
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(dir, file);
    if (content === null) rmSync(full, { force: true });
    else {
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
  git(dir, ['add', '-A']);
  clock += 3600;
  const date = `${clock} +0000`;
  git(dir, ['commit', '-q', '--no-gpg-sign', '-m', message], {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
    GIT_COMMITTER_DATE: date,
  });
  return git(dir, ['rev-parse', 'HEAD']);
}

export const MAIN_TS_V1 = 'export const a = 1;\nexport const b = 2;\nexport const c = 3;\n';
export const MAIN_TS_V2 = 'export const a = 1;\nexport const b = 20;\nexport const c = 3;\n';
export const BINARY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01, 0xff, 0x00, 0x10]);

/**
 * A repositories root built with the real git binary in a temporary folder:
 *   project/      main (4 commits by Alice, Bob, Carol, Alice) and feature (one more by Dave, off commit 2):
 *                 nested paths, a binary file, a rename, a large file, a symlink pointing outside the root
 *   mirror.git/   a bare clone of project
 *   not-a-repo/   a plain folder
 * and next to the root (outside every repository) a canary file whose text must never be served.
 */
export function buildRepos() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'phoenix-git-'));
  const root = path.join(base, 'repos');
  const project = path.join(root, 'project');
  mkdirSync(project, { recursive: true });
  mkdirSync(path.join(root, 'not-a-repo'));
  writeFileSync(path.join(root, 'not-a-repo', 'file.txt'), 'plain\n');
  const canaryText = `CANARY-${process.pid}-${Date.now()}-do-not-serve`;
  const canary = path.join(base, 'canary-secret.txt');
  writeFileSync(canary, `${canaryText}\n`);

  git(project, ['init', '-q', '-b', 'main']);
  const c1 = commit(project, ALICE, 'Initial layout', {
    'README.md': '# Project\n\nhello world\n',
    'src/app/main.ts': MAIN_TS_V1,
    'docs/old-name.md': 'Guide\n\nThis guide explains the project layout in detail.\nIt has several lines.\n',
  });
  const c2 = commit(project, BOB, 'Change b and add a logo\n\nThe logo is binary.', {
    'src/app/main.ts': MAIN_TS_V2,
    'assets/logo.bin': BINARY,
  });
  git(project, ['branch', 'feature']);
  const bigLines = Array.from(
    { length: 4000 },
    (_, i) => `line ${i} of the large file, padded to make it long`,
  );
  const c3 = commit(project, CAROL, 'Rename the guide and add data', {
    'docs/old-name.md': null,
    'docs/new-name.md': 'Guide\n\nThis guide explains the project layout in detail.\nIt has several lines.\n',
    'data/big.txt': `${bigLines.join('\n')}\n`,
    'data/long-line.txt': `${'x'.repeat(5000)}\n`,
  });
  symlinkSync(canary, path.join(project, 'link-out'));
  const c4 = commit(project, ALICE, 'Deep file and a link', {
    'deep/a/b/c/nested.txt': 'deep content\nneedle here\n',
  });
  git(project, ['checkout', '-q', 'feature']);
  const f1 = commit(project, DAVE, 'Feature readme', { 'README.md': '# Project\n\nhello feature\n' });
  git(project, ['checkout', '-q', 'main']);
  git(root, ['clone', '-q', '--bare', project, 'mirror.git']);

  return {
    base,
    root,
    project,
    canary,
    canaryText,
    commits: { c1, c2, c3, c4, f1 },
    /** Adds a commit on the current branch of `project` and returns its SHA. */
    commit: (author: Author, message: string, files: Record<string, string | Buffer | null>) =>
      commit(project, author, message, files),
    rev: (rev: string) => git(project, ['rev-parse', rev]),
    git: (args: string[], cwd = project) => git(cwd, args),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

export type Fixture = ReturnType<typeof buildRepos>;

/** A git agent in process over the repositories under `root`, quiet, with `env` over the test settings. */
export const gitAgentFor = (root: string, env: Record<string, string> = {}) =>
  createGitAgent(
    loadGitAgentConfig({
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      GIT_REPOS_ROOT: root,
      ...env,
    }),
  );
