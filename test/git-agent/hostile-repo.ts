import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ALICE, BOB, commit, git, type Fixture } from './fixture.ts';

/** Every hook git knows (githooks(5)); each is installed as the command that leaves a marker. */
const HOOKS = [
  'applypatch-msg',
  'pre-applypatch',
  'post-applypatch',
  'pre-commit',
  'pre-merge-commit',
  'prepare-commit-msg',
  'commit-msg',
  'post-commit',
  'pre-rebase',
  'post-checkout',
  'post-merge',
  'pre-push',
  'pre-receive',
  'update',
  'proc-receive',
  'post-receive',
  'post-update',
  'reference-transaction',
  'push-to-checkout',
  'pre-auto-gc',
  'post-rewrite',
  'sendemail-validate',
  'fsmonitor-watchman',
  'p4-changelist',
  'p4-prepare-changelist',
  'p4-post-changelist',
  'p4-pre-submit',
  'post-index-change',
];

/**
 * `hostile/` under the repositories root: a repository whose own configuration, attributes and hooks
 * try to run a command on every git invocation, to read files outside it (whose reads `outsideFiles`
 * lets a test detect), and to change what git prints; and `clean.git`, a bare clone of the same
 * history with none of that, whose answers the hostile one must match. The repositories root itself
 * gets a `.gitattributes` and a `.mailmap` too: it is outside every repository.
 */
export function buildHostileRepo(fx: Fixture) {
  const outside = path.join(fx.base, 'hostile-outside');
  const marker = path.join(outside, 'commands-ran.log');
  const command = path.join(outside, 'leave-marker.sh');
  const hooks = path.join(outside, 'hooks');
  const worktree = path.join(outside, 'worktree');
  mkdirSync(hooks, { recursive: true });
  mkdirSync(worktree);
  writeFileSync(command, `#!/bin/sh\necho "$0 $*" >> ${marker}\n`);
  chmodSync(command, 0o755);
  for (const hook of HOOKS) {
    writeFileSync(path.join(hooks, hook), `#!/bin/sh\nexec ${command} ${hook} "$@"\n`);
    chmodSync(path.join(hooks, hook), 0o755);
  }
  const secret = `OUTSIDE-SECRET-${process.pid}`;
  const files = {
    ignoreRevs: path.join(outside, 'ignore-revs'),
    mailmap: path.join(outside, 'mailmap'),
    orderFile: path.join(outside, 'order-file'),
    attributes: path.join(outside, 'attributes'),
    worktreeAttributes: path.join(worktree, '.gitattributes'),
    worktreeMailmap: path.join(worktree, '.mailmap'),
    // The repositories root holds every repository but belongs to none.
    rootAttributes: path.join(fx.root, '.gitattributes'),
    rootMailmap: path.join(fx.root, '.mailmap'),
  };
  writeFileSync(files.ignoreRevs, `${secret}\n`);
  writeFileSync(files.mailmap, `${secret} <${ALICE.email}>\n${secret} <${BOB.email}>\n`);
  writeFileSync(files.orderFile, `${secret}\n*.md\n`);
  writeFileSync(files.attributes, '* diff=evil filter=evil\n');
  writeFileSync(files.worktreeAttributes, '* diff=evil filter=evil\n');
  writeFileSync(files.worktreeMailmap, `${secret} <${ALICE.email}>\n`);
  writeFileSync(files.rootAttributes, '* diff=evil filter=evil\n');
  writeFileSync(files.rootMailmap, `${secret} <${ALICE.email}>\n`);

  const repo = path.join(fx.root, 'hostile');
  mkdirSync(repo);
  git(repo, ['init', '-q', '-b', 'main']);
  commit(repo, ALICE, 'First', {
    'README.md': '# Hostile\n\nhello\n',
    'src/a.txt': 'one\ntwo\nthree\n',
    'docs/guide.md': 'Guide\n\nThis guide explains the project layout in detail.\nIt has several lines.\n',
  });
  commit(repo, BOB, 'Second', {
    '.gitattributes': '* diff=evil filter=evil\n',
    // Blame shows authors as recorded, as log does: a mailmap in the history maps nobody.
    '.mailmap': `Mapped Name <${BOB.email}>\n`,
    'src/a.txt': 'one\n2\nthree\nfour\n',
    'docs/guide.md': null,
    'docs/moved.md': 'Guide\n\nThis guide explains the project layout in detail.\nIt has several lines.\n',
  });
  git(fx.root, ['clone', '-q', '--bare', repo, 'clean.git']);

  const config: Array<[string, string]> = [
    ['core.fsmonitor', command],
    ['core.hooksPath', hooks],
    ['core.pager', command],
    ['pager.blame', command],
    ['core.sshCommand', command],
    ['core.gitProxy', command],
    ['core.askPass', command],
    ['core.alternateRefsCommand', command],
    ['core.editor', command],
    ['credential.helper', `!${command}`],
    ['uploadpack.packObjectsHook', command],
    ['diff.external', command],
    ['diff.evil.command', command],
    ['diff.evil.textconv', command],
    ['filter.evil.clean', command],
    ['filter.evil.smudge', command],
    ['filter.evil.process', command],
    ['filter.evil.required', 'true'],
    ['gpg.program', command],
    ['gpg.ssh.program', command],
    ['log.showSignature', 'true'],
    ['blame.ignoreRevsFile', files.ignoreRevs],
    ['mailmap.file', files.mailmap],
    ['diff.orderFile', files.orderFile],
    ['core.attributesFile', files.attributes],
    ['core.worktree', worktree],
    ['submodule.recurse', 'true'],
    ['log.follow', 'true'],
    ['diff.noprefix', 'true'],
    ['diff.mnemonicPrefix', 'true'],
    ['diff.renameLimit', '1'],
    ['diff.renames', 'false'],
    ['diff.submodule', 'log'],
    ['color.ui', 'always'],
    ['color.diff', 'always'],
    ['color.grep', 'always'],
    ['grep.column', 'true'],
    ['grep.patternType', 'perl'],
    ['grep.fullName', 'true'],
    ['i18n.logOutputEncoding', 'UTF-16'],
    ['core.quotePath', 'true'],
    ['core.abbrev', '4'],
  ];
  for (const [key, value] of config) git(repo, ['config', key, value]);
  for (const hook of HOOKS) {
    writeFileSync(path.join(repo, '.git', 'hooks', hook), `#!/bin/sh\nexec ${command} ${hook} "$@"\n`);
    chmodSync(path.join(repo, '.git', 'hooks', hook), 0o755);
  }
  writeFileSync(path.join(repo, '.git', 'info', 'attributes'), '* diff=evil filter=evil\n');

  return {
    repo,
    secret,
    /** Files outside the repository that its configuration names: none may be read. */
    outsideFiles: Object.values(files),
    /** The commands the configuration and hooks made git run, one line each. */
    commandsRan: () => (existsSync(marker) ? readFileSync(marker, 'utf8') : ''),
  };
}
