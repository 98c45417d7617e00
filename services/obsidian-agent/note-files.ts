import { createHash, randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Problem, notFound } from '../kit/problem.ts';

export const noteTooLarge = (limit: number) =>
  new Problem(413, 'note-too-large', `the note is larger than the ${limit}-byte limit`);

/**
 * Reads a note that `VaultPaths` resolved. O_NOFOLLOW refuses a link swapped in since, O_NONBLOCK keeps
 * a FIFO named `*.md` from hanging the read, and the size is checked on the open file, not a name.
 */
export async function readNoteFile(file: string, maxBytes: number): Promise<{ text: string; stat: Stats }> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') throw notFound('the note is gone');
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notFound('not a regular file');
    if (stat.size > maxBytes) throw noteTooLarge(maxBytes);
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < stat.size) {
      const { bytesRead } = await handle.read(buffer, read, stat.size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return { text: buffer.subarray(0, read).toString('utf8'), stat };
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` atomically: the content goes to a hidden temporary file in the same folder, is
 * flushed to disk, and renamed over the note, so a reader sees the old note or the new one, never a part.
 */
export async function writeNoteAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  // Not named after the note: a note name may take all 255 bytes a file name has.
  const temp = path.join(dir, `.~${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // Make the rename itself durable; some file systems cannot fsync a folder, which is not an error here.
  const folder = await open(dir, constants.O_RDONLY).catch(() => undefined);
  if (folder)
    await folder
      .sync()
      .catch(() => undefined)
      .finally(() => folder.close());
}

const MAX_NAME_BYTES = 255;

/**
 * `.<note>.lock`, or, when that would pass the 255-byte limit of a file name, `.<hash of the note>.lock`
 * (no note is named by a bare hash: notes end in `.md`). Instances agree on it for every name.
 */
export function lockName(note: string): string {
  const plain = `.${note}.lock`;
  if (Buffer.byteLength(plain) <= MAX_NAME_BYTES) return plain;
  return `.${createHash('sha256').update(note).digest('hex').slice(0, 40)}.lock`;
}

const LOCK_WAIT_MS = 3000;
const LOCK_STALE_MS = 30000;

/**
 * A lock file beside the note (`.<name>.lock`, created with O_EXCL), so that pool instances sharing the
 * vault's volume serialise their writes too. A lock older than LOCK_STALE_MS was left by a crashed
 * writer (a write takes milliseconds) and is broken. Waiting is bounded: a note that stays locked is
 * answered 409, which the caller retries.
 */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lockFile = path.join(path.dirname(file), lockName(path.basename(file)));
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      const handle = await open(lockFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await lstat(lockFile).catch(() => undefined);
    if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
      await unlink(lockFile).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Problem(409, 'note-busy', 'the note is being written by another request; retry');
    }
    await sleep(pause);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockFile).catch(() => undefined);
  }
}

/**
 * Runs functions one at a time per key (a note's real path), within this process and, through a lock
 * file, across every instance sharing the vault, so check-then-rename cannot interleave.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await withFileLock(key, fn);
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get size(): number {
    return this.tails.size;
  }
}
