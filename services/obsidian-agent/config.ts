import { z } from 'zod';
import { agentConfigSchema } from '../kit/agent-service.ts';
import { int, loadConfig } from '../kit/config.ts';

export const obsidianConfigSchema = agentConfigSchema.extend({
  OBSIDIAN_VAULT_PATH: z
    .string()
    .min(1)
    .describe('Folder of the Obsidian vault this agent reads and writes (must exist). Required.'),
  OBSIDIAN_MAX_NOTE_BYTES: int(524288, 1024, 16 * 1048576).describe(
    'Largest note the agent reads, indexes or writes; a larger write is 413.',
  ),
  OBSIDIAN_INDEX_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1048576)
    .max(64 * 1073741824)
    .optional()
    .describe(
      'Heap bytes the search index may take (estimated as it grows); notes beyond it are searchable by title, aliases, tags and headings only. Default: a quarter of the heap limit (280 MiB in a 2 GiB container).',
    ),
  OBSIDIAN_INDEX_NOTE_BYTES: int(65536, 1024, 16 * 1048576).describe(
    'Bytes of each note body that are full-text indexed; the rest of a longer note is read and served, but not searchable.',
  ),
  OBSIDIAN_MAX_NOTES: int(20000, 1, 1000000).describe(
    'Notes scanned and indexed at most; beyond it the vault is reported truncated in health.',
  ),
  OBSIDIAN_SCAN_INTERVAL_MS: int(1000, 0, 600000).describe(
    'How long one vault scan (the version of search, backlinks) is reused before the files are checked again, and how often the vault is scanned for changes its file watcher missed (another host on a network volume); bounds how late such a change is published. Each scan costs a stat per note.',
  ),
  OBSIDIAN_REFRESH_INTERVAL_MS: int(30000, 1000, 3600000).describe(
    'How often the search index is brought up to date in the background (health reports its age).',
  ),
  OBSIDIAN_START_WAIT_MS: int(30000, 0, 600000).describe(
    'How long start-up waits for the first search index build; past it the instance serves (search and backlinks say index_complete: false) and finishes the build in the background. Keep it under the startup probe window.',
  ),
  OBSIDIAN_CACHE_TTL_SECONDS: int(300, 0, 86400).describe(
    'Cache TTL of read, search, backlinks and list answers (their keys also carry the vault version).',
  ),
  OBSIDIAN_STALE_IF_ERROR_SECONDS: int(300, 0, 86400).describe(
    'How old a cached read, search, backlinks or list answer may be and still be served (`X-Cache: STALE`) while the Obsidian pool is unreachable or failing; 0: never. Writes are never cached.',
  ),
});

export type ObsidianConfig = z.infer<typeof obsidianConfigSchema>;

export const loadObsidianConfig = (env: NodeJS.ProcessEnv = process.env): ObsidianConfig =>
  loadConfig(obsidianConfigSchema, env);
