import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FOR_EACH_REF_FORMAT, parseForEachRef, revisionNames } from '../../services/git-agent/ref-names.ts';
import { ALICE, buildRepos, git, type Fixture } from './fixture.ts';

let fx: Fixture;
beforeAll(() => {
  fx = buildRepos();
  const run = (args: string[]) => fx.git(args);
  // A tag and a branch both called "twin" (git prefers the tag), an annotated tag, a tag of a tree,
  // a nested tag, a remote-tracking branch with its HEAD, a ref outside heads/tags, a branch that a
  // file in the git directory shadows, and one named like a pseudo-ref.
  run(['branch', 'twin', fx.commits.c1]);
  run(['tag', 'twin', fx.commits.c2]);
  run([
    '-c',
    `user.name=${ALICE.name}`,
    '-c',
    `user.email=${ALICE.email}`,
    'tag',
    '-a',
    '-m',
    'v1',
    'v1',
    fx.commits.c3,
  ]);
  run(['tag', 'tree-tag', `${fx.commits.c1}^{tree}`]);
  run(['tag', 'deep/nested', fx.commits.c4]);
  run(['update-ref', 'refs/remotes/origin/main', fx.commits.c2]);
  run(['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
  run(['update-ref', 'refs/notes/commits', fx.commits.c1]);
  run(['update-ref', 'refs/main', fx.commits.c1]); // rule "refs/%s" comes before tags and heads
  run(['branch', 'shadowed', fx.commits.c1]);
  writeFileSync(path.join(fx.project, '.git', 'shadowed'), `${fx.commits.c3}\n`);
  run(['branch', 'ORIG_HEAD', fx.commits.c1]);
  run(['pack-refs', '--all']);
  run(['branch', 'loose-after-pack', fx.commits.c2]);
});
afterAll(() => fx?.cleanup());

const names = (complete = true) => {
  const gitDir = path.join(fx.project, '.git');
  const records = parseForEachRef(git(fx.project, ['for-each-ref', `--format=${FOR_EACH_REF_FORMAT}`]));
  return revisionNames({
    records,
    complete,
    head: `ref: refs/heads/main\n`,
    isGitDirFile: (name) => statSync(path.join(gitDir, name), { throwIfNoEntry: false })?.isFile() ?? false,
  });
};

const revParse = (name: string) => {
  try {
    return git(fx.project, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${name}^{commit}`]);
  } catch {
    return undefined;
  }
};

test('every name published resolves in git to exactly the commit published', () => {
  const published = names();
  expect(published.size).toBeGreaterThan(20);
  for (const [name, commit] of published) expect([name, revParse(name)]).toEqual([name, commit]);
});

test('git’s precedence is followed: refs/<name>, then tags, then branches; a tag is peeled to its commit', () => {
  const published = names();
  expect(published.get('twin')).toBe(fx.commits.c2); // the tag, not the branch
  expect(published.get('heads/twin')).toBe(fx.commits.c1);
  expect(published.get('main')).toBe(fx.commits.c1); // refs/main, before refs/heads/main
  expect(published.get('refs/heads/main')).toBe(fx.rev('refs/heads/main'));
  expect(published.get('v1')).toBe(fx.commits.c3);
  expect(published.get('origin')).toBe(fx.commits.c2);
  expect(published.get('origin/main')).toBe(fx.commits.c2);
  expect(published.get('deep/nested')).toBe(fx.commits.c4);
  expect(published.get('loose-after-pack')).toBe(fx.commits.c2);
  expect(published.get('HEAD')).toBe(fx.rev('HEAD'));
});

test('what cannot be known from the refs alone is left out, to be resolved on request', () => {
  const published = names();
  expect(published.has('tree-tag')).toBe(false); // names no commit
  expect(published.has('shadowed')).toBe(false); // a file in the git directory comes first
  expect(published.has('ORIG_HEAD')).toBe(false); // a pseudo-ref may appear at any time
  const partial = names(false);
  expect(partial.has('twin')).toBe(false);
  expect(partial.get('refs/tags/twin')).toBe(fx.commits.c2);
  expect(partial.get('HEAD')).toBe(fx.rev('HEAD'));
});
