import { open, readFile, rm } from 'node:fs/promises';
import { isErrnoCode } from './errors.js';
import { formatEntry, parseHistory } from './history.js';
import type { HistoryEntry } from './history.js';
import { SECRET_FILE_MODE } from './key-file.js';

/** Reads a history file; a missing file is an empty history. */
export async function readHistory(path: string): Promise<{ entries: HistoryEntry[]; malformed: number }> {
  try {
    return parseHistory(await readFile(path, 'utf8'));
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) return { entries: [], malformed: 0 };
    throw err;
  }
}

/**
 * Appends entries in one write (O_APPEND, mode 0600 from creation, fsync), so concurrent
 * writers never interleave inside a line and a torn earlier line never swallows a new one.
 * Resolves to a function that takes the entries back out (for a run that fails after this); a
 * write that fails half way (a full disk) is taken back out before the error is thrown. Taking back
 * assumes nobody appended since: the key operations hold the key lock.
 */
export async function appendHistory(path: string, entries: readonly HistoryEntry[]): Promise<() => Promise<void>> {
  const handle = await open(path, 'a+', SECRET_FILE_MODE);
  let size = 0;
  let failure: unknown;
  try {
    ({ size } = await handle.stat());
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const data = Buffer.from(prefix + entries.map((e) => formatEntry(e) + '\n').join(''));
    // A nearly full disk takes part of a write: writing the rest then fails with ENOSPC.
    for (let written = 0; written < data.length;) written += (await handle.write(data, written)).bytesWritten;
    await handle.sync();
  } catch (err) {
    failure = err;
  } finally {
    await handle.close();
  }
  const undo = () => truncateTo(path, size);
  if (failure !== undefined) {
    await undo().catch(() => undefined);
    throw failure;
  }
  return undo;
}

/** Cuts a file back to `size` bytes (fsync'd); at 0, removes it. */
async function truncateTo(path: string, size: number): Promise<void> {
  if (size === 0) return rm(path, { force: true });
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
