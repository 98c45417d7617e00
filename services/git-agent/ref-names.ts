import { SHA } from './inputs.ts';

/** One line of `git for-each-ref`: the ref, its object, and for a tag the object it points at. */
export interface RefRecord {
  name: string;
  /** The commit the ref names (a tag peeled once), or undefined when it names no commit. */
  commit: string | undefined;
}

export const FOR_EACH_REF_FORMAT =
  '%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)';

export function parseForEachRef(text: string): RefRecord[] {
  const records: RefRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [name, type, sha, peeledType, peeledSha] = line.split('\0');
    if (!name || !sha) continue;
    const commit =
      type === 'commit' && SHA.test(sha)
        ? sha
        : type === 'tag' && peeledType === 'commit' && peeledSha && SHA.test(peeledSha)
          ? peeledSha
          : undefined;
    records.push({ name, commit });
  }
  return records;
}

/** git's rules for reading a short revision name, in order (refs.c, ref_rev_parse_rules). */
const RULES: Array<(name: string) => string> = [
  (n) => n,
  (n) => `refs/${n}`,
  (n) => `refs/tags/${n}`,
  (n) => `refs/heads/${n}`,
  (n) => `refs/remotes/${n}`,
  (n) => `refs/remotes/${n}/HEAD`,
];

/** The names a full ref may be written as, itself first. */
function namesOf(full: string): string[] {
  const names = [full];
  if (full.startsWith('refs/')) names.push(full.slice('refs/'.length));
  for (const prefix of ['refs/tags/', 'refs/heads/', 'refs/remotes/']) {
    if (full.startsWith(prefix)) names.push(full.slice(prefix.length));
  }
  if (full.startsWith('refs/remotes/') && full.endsWith('/HEAD')) {
    names.push(full.slice('refs/remotes/'.length, -'/HEAD'.length));
  }
  return names;
}

/** Names git may read from a file in the git directory before any ref (FETCH_HEAD, ORIG_HEAD, ...). */
const ROOT_REF_LIKE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Every revision name whose commit is known from the refs alone, with that commit: each ref by its
 * full name and, when the list is complete, by every shorter name git resolves to it (a tag wins over
 * a branch of the same name, as in `git rev-parse`). HEAD is what the HEAD file names. Left out, so
 * resolved on request: names that a file in the git directory could shadow (`isGitDirFile`), names
 * that look like pseudo-refs, and every short name when `complete` is false.
 */
export function revisionNames(opts: {
  records: RefRecord[];
  complete: boolean;
  head: string | undefined;
  isGitDirFile: (name: string) => boolean;
}): Map<string, string> {
  const refs = new Map(opts.records.map((r) => [r.name, r.commit]));
  const out = new Map<string, string>();
  for (const record of opts.records) {
    for (const name of opts.complete ? namesOf(record.name) : [record.name]) {
      if (out.has(name) || name === 'HEAD' || ROOT_REF_LIKE.test(name)) continue;
      if (name !== record.name && opts.isGitDirFile(name)) continue;
      const winner = RULES.map((rule) => rule(name)).find((full) => refs.has(full));
      const commit = winner === undefined ? undefined : refs.get(winner);
      if (commit !== undefined) out.set(name, commit);
    }
  }
  const head = opts.head?.trim();
  if (head?.startsWith('ref: ')) {
    const commit = refs.get(head.slice('ref: '.length));
    if (commit !== undefined) out.set('HEAD', commit);
  } else if (head !== undefined && SHA.test(head)) {
    out.set('HEAD', head);
  }
  return out;
}
