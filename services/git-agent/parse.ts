/** Parsers for git's machine-readable (`-z`, `--porcelain`) outputs. */

export interface Person {
  name: string;
  email: string;
  date: string;
}

export interface CommitInfo {
  sha: string;
  parents: string[];
  author: Person;
  committer: Person;
  subject: string;
  body: string;
}

/** `git log -z --format=LOG_FORMAT`: NUL between fields and between commits. */
export const LOG_FORMAT = '%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s%x00%b';
const LOG_FIELDS = 10;

export function parseLog(out: string): CommitInfo[] {
  if (out === '') return [];
  const fields = out.split('\0');
  if (fields.length % LOG_FIELDS === 1 && fields.at(-1) === '') fields.pop();
  const commits: CommitInfo[] = [];
  for (let i = 0; i + LOG_FIELDS <= fields.length; i += LOG_FIELDS) {
    const f = fields.slice(i, i + LOG_FIELDS);
    commits.push({
      sha: f[0]!.replace(/^\n/, ''),
      parents: f[1] ? f[1].split(' ') : [],
      author: { name: f[2]!, email: f[3]!, date: f[4]! },
      committer: { name: f[5]!, email: f[6]!, date: f[7]! },
      subject: f[8]!,
      body: f[9]!.replace(/\n+$/, ''),
    });
  }
  return commits;
}

export interface TreeEntry {
  path: string;
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  object: string;
  /** Bytes, for blobs. */
  size: number | null;
}

/** `git ls-tree -z --long`. */
export function parseLsTree(out: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of out.split('\0')) {
    const m = /^(\d{6}) (blob|tree|commit) ([0-9a-f]{40,64}) +(-|\d+)\t([\s\S]*)$/.exec(record);
    if (!m) continue;
    entries.push({
      mode: m[1]!,
      type: m[2] as TreeEntry['type'],
      object: m[3]!,
      size: m[4] === '-' ? null : Number(m[4]),
      path: m[5]!,
    });
  }
  return entries;
}

export interface ChangedFile {
  /** A(dded), M(odified), D(eleted), R(enamed), C(opied), T(ype changed). */
  status: string;
  path: string;
  old_path?: string;
  similarity?: number;
}

/** `git diff-tree -r -z --name-status -M`. */
export function parseNameStatus(out: string): ChangedFile[] {
  const tokens = out.split('\0');
  const files: ChangedFile[] = [];
  for (let i = 0; i < tokens.length;) {
    const status = tokens[i++]!;
    if (!/^[ACDMRTUX]\d*$/.test(status)) continue;
    const letter = status[0]!;
    if (letter === 'R' || letter === 'C') {
      const oldPath = tokens[i++]!;
      const newPath = tokens[i++]!;
      files.push({ status: letter, path: newPath, old_path: oldPath, similarity: Number(status.slice(1)) });
    } else {
      files.push({ status: letter, path: tokens[i++]! });
    }
  }
  return files.filter((f) => f.path);
}

export interface FileStat {
  path: string;
  old_path?: string;
  additions: number | null;
  deletions: number | null;
  binary: boolean;
}

/** `git diff --numstat -z -M`: `add\tdel\tpath\0`, or `add\tdel\t\0old\0new\0` for a rename. */
export function parseNumstat(out: string): FileStat[] {
  const tokens = out.split('\0');
  const stats: FileStat[] = [];
  for (let i = 0; i < tokens.length;) {
    const m = /^(-|\d+)\t(-|\d+)\t([\s\S]*)$/.exec(tokens[i++]!);
    if (!m) continue;
    const binary = m[1] === '-';
    const counts = {
      additions: binary ? null : Number(m[1]),
      deletions: binary ? null : Number(m[2]),
      binary,
    };
    if (m[3] === '') {
      const oldPath = tokens[i++]!;
      stats.push({ path: tokens[i++]!, old_path: oldPath, ...counts });
    } else {
      stats.push({ path: m[3]!, ...counts });
    }
  }
  return stats.filter((f) => f.path);
}

export interface GrepMatch {
  path: string;
  line: number;
  text: string;
}

/** `git grep -z -n <sha>`: `<sha>:<path>\0<line>\0<text>\n`. Stops at `limit` matches. */
export function parseGrep(out: string, sha: string, limit: number, maxLineChars: number) {
  const prefix = `${sha}:`;
  const matches: GrepMatch[] = [];
  let i = 0;
  while (i < out.length && matches.length < limit) {
    const pathEnd = out.indexOf('\0', i);
    const lineEnd = pathEnd < 0 ? -1 : out.indexOf('\0', pathEnd + 1);
    const textEnd = lineEnd < 0 ? -1 : out.indexOf('\n', lineEnd + 1);
    if (textEnd < 0) break; // a record cut by the output cap
    const name = out.slice(i, pathEnd);
    matches.push({
      path: name.startsWith(prefix) ? name.slice(prefix.length) : name,
      line: Number(out.slice(pathEnd + 1, lineEnd)),
      text: out.slice(lineEnd + 1, Math.min(textEnd, lineEnd + 1 + maxLineChars)),
    });
    i = textEnd + 1;
  }
  return { matches, more: i < out.length };
}

export interface BlameRange {
  start_line: number;
  end_line: number;
  commit: string;
  author: { name: string; email: string; time: string };
  summary: string;
  lines: string[];
}

/** `git blame --porcelain`: consecutive lines from the same commit become one range. */
export function parseBlame(out: string): BlameRange[] {
  const commits = new Map<string, Record<string, string>>();
  const ranges: BlameRange[] = [];
  let current: { sha: string; line: number } | undefined;
  for (const row of out.split('\n')) {
    const header = /^([0-9a-f]{40,64}) \d+ (\d+)(?: \d+)?$/.exec(row);
    if (header) {
      current = { sha: header[1]!, line: Number(header[2]) };
      if (!commits.has(current.sha)) commits.set(current.sha, {});
      continue;
    }
    if (!current) continue;
    if (row.startsWith('\t')) {
      const last = ranges.at(-1);
      if (last && last.commit === current.sha && last.end_line === current.line - 1) {
        last.end_line = current.line;
        last.lines.push(row.slice(1));
      } else {
        const info = commits.get(current.sha)!;
        const seconds = Number(info['author-time'] ?? 0);
        ranges.push({
          start_line: current.line,
          end_line: current.line,
          commit: current.sha,
          author: {
            name: info.author ?? '',
            email: (info['author-mail'] ?? '').replace(/^<|>$/g, ''),
            time: new Date(seconds * 1000).toISOString(),
          },
          summary: info.summary ?? '',
          lines: [row.slice(1)],
        });
      }
      continue;
    }
    const space = row.indexOf(' ');
    const info = commits.get(current.sha)!;
    if (space > 0) info[row.slice(0, space)] = row.slice(space + 1);
  }
  return ranges;
}
