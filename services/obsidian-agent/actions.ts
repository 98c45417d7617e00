import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { z } from 'zod';
import { defineAction } from '../kit/agent-service.ts';
import { Problem, conflict, notFound } from '../kit/problem.ts';
import { withCallerErrors } from './fs-errors.ts';
import type { ObsidianMetrics } from './metrics.ts';
import { type KeyedLock, noteTooLarge, readNoteFile, writeNoteAtomic } from './note-files.ts';
import { composeNote, contentVersion, parseNote } from './notes.ts';
import type { NoteIndex } from './search-index.ts';
import { FOLDER, NOTE, VAULT } from './sources.ts';
import { folderPathSchema, notePathSchema, type VaultPaths } from './vault-paths.ts';

/** What the actions share: the vault, its scan and index, the write lock, limits and metrics. */
export interface VaultContext {
  paths: VaultPaths;
  index: NoteIndex;
  /**
   * A scan of the vault no older than the scan interval, with the index brought up to it; while the
   * first build is still under way, the version of what is indexed so far (`complete` false).
   */
  fresh: () => Promise<{ signature: string; complete: boolean }>;
  /** Called after this instance changed a note, so the next answer rescans. */
  changed: () => void;
  lock: KeyedLock;
  maxNoteBytes: number;
  ttlSeconds: number;
  /** How old a cached answer may be served STALE while the pool fails. */
  staleSeconds: number;
  metrics: ObsidianMetrics;
}

const VERSION = /^[0-9a-f]{32}$/;
const versionSchema = z.string().regex(VERSION, 'expected a version returned by read or write');
const tagSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^#?[^\s#]+$/u, 'expected one tag without spaces, such as "project/alpha"')
  .transform((t) => t.replace(/^#/, ''));
const limit = (def: number, max: number) => z.number().int().min(1).max(max).default(def);
const offset = z.number().int().min(0).max(100000).default(0);

async function readNote(ctx: VaultContext, rel: string) {
  const real = await ctx.paths.note(rel);
  const { text, stat } = await readNoteFile(real, ctx.maxNoteBytes);
  return { real, text, stat, version: contentVersion(text) };
}

/** The note's current content and version, or undefined when there is none (inside the write lock). */
async function current(file: string, maxNoteBytes: number) {
  try {
    const { text, stat } = await readNoteFile(file, maxNoteBytes);
    return { text, version: contentVersion(text), mode: stat.mode & 0o777 };
  } catch (err) {
    if (err instanceof Problem && err.status === 404) return undefined;
    throw err;
  }
}

function checkSize(content: string, max: number) {
  if (Buffer.byteLength(content, 'utf8') > max) throw noteTooLarge(max);
}

async function listFolder(ctx: VaultContext, rel: string) {
  const real = await ctx.paths.folder(rel);
  const dirents = await readdir(real, { withFileTypes: true });
  const entries: Array<{
    type: 'folder' | 'note';
    name: string;
    path: string;
    size?: number;
    modified?: string;
  }> = [];
  for (const [i, d] of dirents.entries()) {
    // Synchronous lstat is much faster than the thread pool; yield now and then in a huge folder.
    if (i % 256 === 255) await yieldToRequests();
    // Hidden entries are not part of the vault; links are followed only when named directly.
    if (d.name.startsWith('.') || d.isSymbolicLink()) continue;
    const child = rel === '' ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory()) entries.push({ type: 'folder', name: d.name, path: child });
    else if (d.isFile() && d.name.endsWith('.md')) {
      const stat = lstatSync(path.join(real, d.name), { throwIfNoEntry: false });
      if (stat)
        entries.push({
          type: 'note',
          name: d.name,
          path: child,
          size: stat.size,
          modified: stat.mtime.toISOString(),
        });
    }
  }
  entries.sort((a, b) => (a.type !== b.type ? (a.type === 'folder' ? -1 : 1) : a.name < b.name ? -1 : 1));
  const version = createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 32);
  return { entries, version };
}

export function obsidianActions(ctx: VaultContext) {
  const ttl = ctx.ttlSeconds;
  const cacheable = ttl > 0;
  const noteBody = z.string().max(ctx.maxNoteBytes);

  const actions = [
    defineAction({
      name: 'read',
      description:
        'One note: body, parsed frontmatter, outgoing links, tags, headings and its version (for write).',
      input: z.strictObject({ path: notePathSchema }),
      cacheable,
      ttl_seconds: ttl,
      version_from: [NOTE],
      stale_if_error_seconds: ctx.staleSeconds,
      run: async (input) => {
        const note = await readNote(ctx, input.path);
        const rel = ctx.paths.relative(note.real);
        return {
          path: rel,
          version: note.version,
          ...parseNote(rel, note.text),
          size: note.stat.size,
          modified: note.stat.mtime.toISOString(),
        };
      },
    }),

    defineAction({
      name: 'search',
      description:
        'Ranked full-text search of the vault (title, aliases, tags, headings, body), optionally only notes with all the given tags; paged.',
      input: z
        .strictObject({
          query: z.string().max(512).optional().describe('Plain words; no operators or patterns.'),
          tags: z
            .array(tagSchema)
            .max(16)
            .optional()
            .describe('Only notes carrying every one of these tags.'),
          match: z
            .enum(['all', 'any'])
            .default('all')
            .describe('Whether a note needs all query words or any.'),
          limit: limit(20, 100),
          offset,
        })
        .refine((q) => (q.query ?? '').trim() !== '' || (q.tags ?? []).length > 0, {
          message: 'give a query, tags, or both',
          path: ['query'],
        }),
      cacheable,
      ttl_seconds: ttl,
      version_from: [VAULT],
      stale_if_error_seconds: ctx.staleSeconds,
      run: async (input) => {
        const { signature, complete } = await ctx.fresh();
        return {
          vault_version: signature,
          ...(complete ? {} : { index_complete: false }),
          ...(await ctx.index.search(input)),
        };
      },
    }),

    defineAction({
      name: 'backlinks',
      description:
        'Notes that link to a note (wikilinks, embeds and Markdown links), most links first; paged.',
      input: z.strictObject({ path: notePathSchema, limit: limit(50, 500), offset }),
      cacheable,
      ttl_seconds: ttl,
      version_from: [VAULT],
      stale_if_error_seconds: ctx.staleSeconds,
      run: async (input) => {
        const rel = ctx.paths.relative(await ctx.paths.note(input.path));
        const { signature, complete } = await ctx.fresh();
        const all = ctx.index.backlinks(rel);
        return {
          path: rel,
          vault_version: signature,
          ...(complete ? {} : { index_complete: false }),
          total: all.length,
          offset: input.offset,
          limit: input.limit,
          backlinks: all.slice(input.offset, input.offset + input.limit),
        };
      },
    }),

    defineAction({
      name: 'list',
      description: 'The notes and subfolders of a vault folder, folders first; paged.',
      input: z.strictObject({ path: folderPathSchema.default(''), limit: limit(200, 1000), offset }),
      cacheable,
      ttl_seconds: ttl,
      version_from: [FOLDER],
      stale_if_error_seconds: ctx.staleSeconds,
      run: async (input) => {
        const { entries, version } = await listFolder(ctx, input.path);
        return {
          path: input.path,
          version,
          total: entries.length,
          offset: input.offset,
          limit: input.limit,
          entries: entries.slice(input.offset, input.offset + input.limit),
        };
      },
    }),

    defineAction({
      name: 'write',
      description:
        'Creates or replaces a note atomically. expected_version is the version last read (409 if the note has changed since), or null to create a note that must not exist yet.',
      input: z.strictObject({
        path: notePathSchema,
        body: noteBody.describe('Markdown body; with frontmatter, the text after it.'),
        frontmatter: z
          .record(z.string().max(256), z.unknown())
          .optional()
          .describe('Written as YAML frontmatter in front of the body.'),
        expected_version: versionSchema
          .nullable()
          .describe('The version the caller last read, or null: the note must not exist.'),
        create_folders: z.boolean().default(true).describe('Create missing parent folders.'),
      }),
      cacheable: false,
      ttl_seconds: 0,
      changes_sources: true,
      run: async (input) => {
        const content = composeNote(input.body, input.frontmatter);
        checkSize(content, ctx.maxNoteBytes);
        const mismatch = (now: { version: string } | undefined) => {
          ctx.metrics.writeConflicts.inc();
          return conflict(
            now
              ? input.expected_version === null
                ? 'the note already exists'
                : 'the note has changed since that version'
              : 'the note does not exist (any more)',
            { current_version: now?.version ?? null },
          );
        };
        // Folders are made only for a create, so a refused replace leaves nothing behind.
        const creating = input.expected_version === null;
        const target = await ctx.paths
          .writeTarget(input.path, { createFolders: input.create_folders && creating })
          .catch((err: unknown) => {
            throw !creating && err instanceof Problem && err.status === 404 ? mismatch(undefined) : err;
          });
        return ctx.lock.run(target.file, async () => {
          const now = await current(target.file, ctx.maxNoteBytes);
          if ((now?.version ?? null) !== input.expected_version) throw mismatch(now);
          await writeNoteAtomic(target.file, content, now?.mode);
          ctx.changed();
          ctx.metrics.writes.inc({ action: 'write', created: String(!now) });
          return {
            path: ctx.paths.relative(target.file),
            version: contentVersion(content),
            created: !now,
            size: Buffer.byteLength(content),
          };
        });
      },
    }),

    defineAction({
      name: 'append',
      description:
        'Appends text to a note on a line of its own (a daily note, a log); creates the note when create_if_missing is true.',
      input: z.strictObject({
        path: notePathSchema,
        text: noteBody.min(1),
        create_if_missing: z.boolean().default(false),
      }),
      cacheable: false,
      ttl_seconds: 0,
      changes_sources: true,
      run: async (input) => {
        const target = await ctx.paths.writeTarget(input.path, { createFolders: input.create_if_missing });
        return ctx.lock.run(target.file, async () => {
          const now = await current(target.file, ctx.maxNoteBytes);
          if (!now && !input.create_if_missing)
            throw notFound(`no note at ${JSON.stringify(input.path)}; set create_if_missing to create it`);
          const before = now?.text ?? '';
          const separator = before === '' || before.endsWith('\n') ? '' : '\n';
          const content = `${before}${separator}${input.text}${input.text.endsWith('\n') ? '' : '\n'}`;
          checkSize(content, ctx.maxNoteBytes);
          await writeNoteAtomic(target.file, content, now?.mode);
          ctx.changed();
          ctx.metrics.writes.inc({ action: 'append', created: String(!now) });
          return {
            path: ctx.paths.relative(target.file),
            version: contentVersion(content),
            created: !now,
            size: Buffer.byteLength(content),
          };
        });
      },
    }),
  ];
  return actions.map(withCallerErrors);
}
