/**
 * What every git command the agent runs is given so that a served repository cannot make git run a
 * command, read a file outside the repository, or change the shape of what git prints (git 2.39).
 * A repository's own configuration (`.git/config`, its includes, `config.worktree`) is read by git
 * before the command line's `-c` settings, so each of these wins over it. See docs/decisions.md.
 */

/** `-c key=value` settings, each with what it shuts off. */
const SETTINGS: Array<[key: string, value: string]> = [
  // Commands a repository can name.
  ['core.fsmonitor', 'false'], // a hook run on every index read (`diff-tree` ran it)
  ['core.hooksPath', '/dev/null'], // every hook, wherever the repository points hooks
  ['core.pager', 'cat'], // with --no-pager; pager.<command> is shut by --no-pager too
  ['diff.external', ''], // external diff; `diff` also passes --no-ext-diff, diff drivers need it
  ['core.sshCommand', ''], // transports, which protocol.allow=never forbids anyway
  ['core.gitProxy', ''],
  ['core.askPass', ''],
  ['credential.helper', ''], // an empty value empties the helper list
  ['core.alternateRefsCommand', ''],
  ['uploadpack.packObjectsHook', ''],
  ['protocol.allow', 'never'], // no fetch: not even the lazy fetch of a partial clone's missing objects
  ['log.showSignature', 'false'], // would run gpg.program / gpg.ssh.program
  ['submodule.recurse', 'false'], // grep would enter submodules; diff.submodule=log would run git there
  ['diff.submodule', 'short'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  // Files outside the repository a repository can name.
  ['core.attributesFile', '/dev/null'],
  ['mailmap.file', '/dev/null'], // blame maps authors through it: another file's lines would be served
  ['mailmap.blob', ''],
  ['log.mailmap', 'false'],
  ['diff.orderFile', '/dev/null'],
  // (blame.ignoreRevsFile is a list an empty value cannot clear: `blame` passes --no-ignore-revs-file.)
  // The shape of the output the agent parses and serves.
  ['core.quotePath', 'false'],
  ['color.ui', 'never'],
  ['color.diff', 'never'],
  ['color.grep', 'never'],
  ['i18n.logOutputEncoding', 'UTF-8'],
  ['log.follow', 'false'],
  ['diff.noprefix', 'false'],
  ['diff.mnemonicPrefix', 'false'],
  ['diff.relative', 'false'],
  ['diff.suppressBlankEmpty', 'false'],
  ['diff.renameLimit', '1000'],
  ['diff.algorithm', 'myers'],
  ['diff.indentHeuristic', 'true'],
  ['diff.interHunkContext', '0'],
  ['grep.column', 'false'],
  ['grep.fullName', 'false'],
  ['core.abbrev', 'auto'],
];

/**
 * git's own memory knobs, sized to the child's address-space bound so that ordinary work on large
 * packs fits inside it: mapped pack windows, the delta base cache, and the size above which a blob is
 * treated as binary by `diff` and streamed rather than held whole.
 */
function memorySettings(maxMemoryBytes: number): Array<[string, string]> {
  if (maxMemoryBytes <= 0) return [];
  const part = (divisor: number, cap = Infinity) =>
    String(Math.floor(Math.min(cap, maxMemoryBytes / divisor)));
  return [
    ['core.packedGitWindowSize', part(16, 32 * 1048576)],
    ['core.packedGitLimit', part(4)],
    ['core.deltaBaseCacheLimit', part(16)],
    ['core.bigFileThreshold', part(8)],
  ];
}

/** The `-c` arguments for one git command. */
export function hardeningArgs(maxMemoryBytes: number): string[] {
  return [...SETTINGS, ...memorySettings(maxMemoryBytes)].flatMap(([key, value]) => [
    '-c',
    `${key}=${value}`,
  ]);
}

/**
 * git's whole environment: nothing inherited but PATH (so no GIT_* variable, no secret of the
 * agent's), no system or global configuration or attributes, nothing that prompts, pages or fetches.
 * MALLOC_ARENA_MAX keeps glibc from reserving an arena per grep thread out of the address-space bound.
 */
export function gitEnvironment(reposRoot: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_CEILING_DIRECTORIES: reposRoot,
    GIT_NO_LAZY_FETCH: '1',
    GIT_OPTIONAL_LOCKS: '0',
    MALLOC_ARENA_MAX: '2',
    LC_ALL: 'C',
    LANGUAGE: 'C',
  };
}
