import { createHash } from 'node:crypto';
import { lstatSync, type BigIntStats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToRequests } from 'node:timers/promises';

/** Changes whenever the file does: inode (an atomic write renames a new one in), size, times in ns. */
export const statKey = (s: BigIntStats): string => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;

/** What a folder listing shows: its subfolders by name, its notes by name and state. */
export interface FolderContent {
  folders: string[];
  notes: Array<{ name: string; key: string }>;
}

/** The version of a folder's listing (the `list` action's answer depends on nothing else). */
export function folderVersion(content: FolderContent): string {
  const lines = [
    ...content.folders.map((name) => `d\0${name}`),
    ...content.notes.map((n) => `n\0${n.name}\0${n.key}`),
  ].sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 32);
}

const STAT_BATCH = 256;

/**
 * A folder's content read now, with the vault scan's rules: hidden entries and links are not part of
 * the vault; notes are `.md` regular files.
 */
export async function readFolderContent(real: string): Promise<FolderContent> {
  const content: FolderContent = { folders: [], notes: [] };
  const dirents = await readdir(real, { withFileTypes: true });
  for (const [i, d] of dirents.entries()) {
    if (i % STAT_BATCH === STAT_BATCH - 1) await yieldToRequests();
    if (d.name.startsWith('.') || d.isSymbolicLink()) continue;
    if (d.isDirectory()) content.folders.push(d.name);
    else if (d.isFile() && d.name.endsWith('.md')) {
      const stat = lstatSync(path.join(real, d.name), { bigint: true, throwIfNoEntry: false });
      if (stat?.isFile()) content.notes.push({ name: d.name, key: statKey(stat) });
    }
  }
  return content;
}
