import { randomBytes } from 'node:crypto';
import { constants, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `content` atomically: a new temporary file beside it, created exclusively
 * (O_CREAT | O_EXCL | O_NOFOLLOW) under an unpredictable name with `mode`, written, fsync'd, renamed
 * over `path`, and the directory fsync'd. Readers see the old content or the new, never a torn file.
 *
 * Written here rather than with write-file-atomic, which names its temporary file predictably (a hash
 * of pid and a counter) and opens it without O_EXCL, following a symlink planted under that name, and
 * which gives the new file the old one's owner: the new file here is the writer's own inode.
 */
export async function replaceFile(path: string, content: Buffer, mode: number, random: (size: number) => Buffer = randomBytes): Promise<void> {
  const temporary = `${path}.${random(8).toString('hex')}.tmp`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  const handle = await open(temporary, flags, mode);
  let renamed = false;
  try {
    try {
      // The umask may have taken bits from `mode` at creation; set exactly what was asked.
      await handle.chmod(mode);
      await writeAll(handle, content, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    renamed = true;
  } finally {
    if (!renamed) await rm(temporary, { force: true }).catch(() => undefined);
  }
  await fsyncDirectory(dirname(path));
}

/** Writes all of `data` at `position`; a short write (a nearly full disk) is continued, or fails. */
export async function writeAll(handle: FileHandle, data: Buffer, position: number | null): Promise<void> {
  for (let written = 0; written < data.length;) {
    written += (await handle.write(data, written, data.length - written, position === null ? null : position + written)).bytesWritten;
  }
}

/**
 * Makes a rename in `dir` durable; best effort, since directories cannot be opened for fsync on Windows.
 * Resolves to whether the directory was synced.
 */
export async function fsyncDirectory(dir: string): Promise<boolean> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch {
    return false;
  }
}
