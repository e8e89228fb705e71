import { constants, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isErrnoCode } from './errors.js';
import { formatEntry, parseLine } from './history.js';
import type { HistoryEntry } from './history.js';
import { SECRET_FILE_MODE } from './key-file.js';
import { openRegular, readFlags } from './regular-file.js';

/** Longest line a history scan holds; a longer one cannot be an entry and is skipped as malformed. */
export const MAX_HISTORY_LINE = 4096;
const CHUNK_BYTES = 64 * 1024;

/**
 * Reads a history file line by line in 64 KiB chunks, calling `onEntry` for each well-formed entry, so
 * memory stays the same whatever the file's size (a line never grows past MAX_HISTORY_LINE). Only a
 * regular file is read; a missing file is an empty history.
 */
export async function scanHistory(path: string, onEntry: (entry: HistoryEntry) => void): Promise<{ entries: number; malformed: number }> {
  const counts = { entries: 0, malformed: 0 };
  let handle: FileHandle;
  try {
    handle = await openRegular(path, readFlags());
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) return counts;
    throw err;
  }
  const line = (bytes: Buffer | undefined): void => {
    const text = bytes?.toString('utf8');
    if (text !== undefined && text.trim() === '') return;
    const entry = text === undefined ? undefined : parseLine(text);
    if (entry) {
      counts.entries++;
      onEntry(entry);
    } else counts.malformed++;
  };
  try {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    // The line so far; undefined once it is too long to be an entry (the rest of it is skipped).
    let partial: Buffer | undefined = Buffer.alloc(0);
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let start = 0;
      for (let end = chunk.indexOf(0x0a, 0); end !== -1 && end < bytesRead; end = chunk.indexOf(0x0a, start)) {
        line(partial && join(partial, chunk.subarray(start, end)));
        partial = Buffer.alloc(0);
        start = end + 1;
      }
      partial = partial && join(partial, chunk.subarray(start, bytesRead));
    }
    if (partial === undefined || partial.length > 0) line(partial);
  } finally {
    await handle.close();
  }
  return counts;
}

/** Every entry of a history file (scanHistory, collected): for histories known to be small. */
export async function readHistory(path: string): Promise<{ entries: HistoryEntry[]; malformed: number }> {
  const entries: HistoryEntry[] = [];
  const { malformed } = await scanHistory(path, (entry) => entries.push(entry));
  return { entries, malformed };
}

// A line's bytes so far, or undefined once they pass the longest line a history may hold.
function join(head: Buffer, tail: Buffer): Buffer | undefined {
  return head.length + tail.length > MAX_HISTORY_LINE ? undefined : Buffer.concat([head, tail]);
}

/**
 * Appends entries in one write (O_APPEND, mode 0600 from creation, fsync), so concurrent
 * writers never interleave inside a line and a torn earlier line never swallows a new one.
 * Resolves to a function that takes the entries back out (for a run that fails after this); a
 * write that fails half way (a full disk) is taken back out before the error is thrown. Taking back
 * assumes nobody appended since: the key operations hold the key lock. `path` must not be a symlink
 * (refused, KEY_NOT_REGULAR): writeTarget resolves one that may be written through.
 */
export async function appendHistory(path: string, entries: readonly HistoryEntry[]): Promise<() => Promise<void>> {
  const flags = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);
  const handle = await openRegular(path, flags, SECRET_FILE_MODE);
  let size = 0;
  let failure: unknown;
  try {
    ({ size } = await handle.stat());
    // A history created looser by hand or by another tool is tightened before it receives a key.
    await handle.chmod(SECRET_FILE_MODE);
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
