import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { AgentSources } from '../kit/agent-service.ts';
import { badRequest } from '../kit/problem.ts';
import type { VersionPart } from '../kit/versions.ts';
import { folderVersion, readFolderContent, statKey, type FolderContent } from './folder-version.ts';
import { callerErrors } from './fs-errors.ts';
import type { VaultPaths } from './vault-paths.ts';
import type { VaultSnapshot } from './vault-scan.ts';
import { sourceId } from '../kit/versions.ts';

/**
 * The Obsidian pool's sources (services/kit/versions.ts), published from the vault scan and looked up
 * live by `/resolve`; both give the same values:
 *   ["note", path]     the note file's state (statKey): read answers depend on that note alone
 *   ["folder", path]   a folder listing's version (folderVersion): list answers
 *   ["vault"]          the scan's signature over every note: search and backlinks answers
 */
export const NOTE: VersionPart = { source: 'note', args: [{ input: 'path' }], field: 'input.path' };
export const FOLDER: VersionPart = {
  source: 'folder',
  args: [{ input: 'path', default: '' }],
  field: 'input.path',
};
export const VAULT: VersionPart = { source: 'vault' };

export function vaultSources(deps: {
  paths: VaultPaths;
  fresh: () => Promise<{ signature: string }>;
}): Pick<AgentSources, 'lookup'> {
  const { paths } = deps;
  return {
    // A path's own file system errors (a link loop, a name too long) are the caller's, as in the actions.
    lookup: (kind, args, { field }) =>
      callerErrors(
        (async () => {
          if (kind === 'vault') return (await deps.fresh()).signature;
          const name = field?.replace(/^input\./, '') ?? 'path';
          if (kind === 'note')
            return statKey(await lstat(await paths.note(args[0]!, name), { bigint: true }));
          if (kind === 'folder')
            return folderVersion(await readFolderContent(await paths.folder(args[0]!, name)));
          throw badRequest(`no source of kind ${kind}`);
        })(),
        field ?? 'input.path',
      ),
  };
}

/** Every source's version as a scan shows it; folders only when the scan saw the whole vault. */
export function snapshotVersions(snapshot: VaultSnapshot): Map<string, string> {
  const state = new Map<string, string>([[sourceId('vault'), snapshot.signature]]);
  const byFolder = new Map<string, FolderContent>();
  for (const [rel, folders] of snapshot.folders) byFolder.set(rel, { folders, notes: [] });
  for (const note of snapshot.notes.values()) {
    state.set(sourceId('note', [note.path]), note.key);
    const parent = path.posix.dirname(note.path);
    byFolder
      .get(parent === '.' ? '' : parent)
      ?.notes.push({ name: path.posix.basename(note.path), key: note.key });
  }
  if (!snapshot.truncated) {
    for (const [rel, content] of byFolder) state.set(sourceId('folder', [rel]), folderVersion(content));
  }
  return state;
}
