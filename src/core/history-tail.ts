import type { FileHandle } from 'node:fs/promises';
import { CLIENT_ACTION_PREFIX } from './client-history.js';
import { isErrnoCode } from './errors.js';
import { MAX_HISTORY_LINE } from './history-file.js';
import { FileReads } from './regular-file.js';

/**
 * How much of the history's end is read for its state. The state needs the current key, the rotation
 * that made it current and the one before (whose key must be the one that rotation replaced): the last
 * few lines. 64 KiB holds some 650 lines of ordinary history.
 */
export const HISTORY_TAIL_BYTES = 64 * 1024;
/** The most bytes read back from the end in all, however many named-key lines stand between the static key's. */
export const HISTORY_SCAN_BYTES = 8 * 1024 * 1024;

/** The end of a history file. */
export interface HistoryTail {
  /** The static key's complete lines within the last `maxBytes` of them (named-key lines left out, see readHistoryTail). */
  text: string;
  /** The file's size in bytes. */
  size: number;
  /** Whether the file holds more than was read. */
  truncated: boolean;
}

/** What the last read of a history found, so that re-reading an unchanged one costs one chunk (HistoryReader keeps one). */
export interface TailCache {
  entry?: { signature: string; last: Buffer; tail: HistoryTail };
}

// `YYYY-MM-DD HH:MM:SS | Client ...`: a named-key line, recognised without parsing it.
const CLIENT_MARK = Buffer.from(` | ${CLIENT_ACTION_PREFIX}`);
const STAMP_LENGTH = 19;

/**
 * Reads the static key's lines at the end of a history file, so memory and time stay the same whatever its
 * size: the complete lines within its last `maxBytes`, not counting named-key lines (`Client ...`), which are
 * skipped while reading further back, up to HISTORY_SCAN_BYTES in all. Thousands of named-key changes thus
 * never push the static key's rotations out of sight. A missing file is an empty history; anything but a
 * regular file fails (KEY_NOT_REGULAR), as does a read that does not finish in time (KEY_READ_TIMEOUT).
 */
export async function readHistoryTail(path: string, reads: FileReads = new FileReads(), maxBytes = HISTORY_TAIL_BYTES,
  cache?: TailCache): Promise<HistoryTail> {
  try {
    return await reads.withFile(path, (handle) => scanBack(handle, maxBytes, cache ?? {}));
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) return { text: '', size: 0, truncated: false };
    throw err;
  }
}

async function scanBack(handle: FileHandle, maxBytes: number, cache: TailCache): Promise<HistoryTail> {
  const stats = await handle.stat({ bigint: true });
  const size = Number(stats.size);
  const chunk = maxBytes + 1;
  let position = Math.max(0, size - chunk);
  let pending = await readAt(handle, position, size - position);
  // An unchanged file (same inode, size and change time, same last chunk) has the same tail: no scan back.
  const signature = `${stats.dev}:${stats.ino}:${size}:${stats.mtimeNs}:${stats.ctimeNs}`;
  const known = cache.entry;
  if (known?.signature === signature && known.last.equals(pending)) return known.tail;
  const remember = (truncated: boolean): HistoryTail => {
    const tail = { text: Buffer.concat(kept.reverse()).toString('utf8'), size, truncated };
    cache.entry = { signature, last, tail };
    return tail;
  };
  const last = pending;
  const kept: Buffer[] = [];
  let budget = 0;
  let scanned = pending.length;
  for (;;) {
    // The lines of `pending` from its end, each with its newline; the first is whole only at the file's start.
    let end = pending.length;
    while (end > 0) {
      // The newline before this line's own: searched in a view, since a negative offset searches from the end.
      const before = pending.subarray(0, end - 1).lastIndexOf(0x0a);
      if (before === -1 && position > 0) break;
      const line = pending.subarray(before + 1, end);
      end = before + 1;
      if (isClientLine(line)) continue;
      if (budget + line.length > maxBytes) return remember(true);
      kept.push(line);
      budget += line.length;
    }
    if (end === 0) return remember(false);
    // A line longer than any named-key line that does not fit either way ends the tail here.
    const partial = pending.subarray(0, end);
    if (partial.length > MAX_HISTORY_LINE && budget + partial.length > maxBytes) return remember(true);
    if (scanned >= HISTORY_SCAN_BYTES) return remember(true);
    const length = Math.min(chunk, position);
    position -= length;
    scanned += length;
    pending = Buffer.concat([await readAt(handle, position, length), partial]);
  }
}

function isClientLine(line: Buffer): boolean {
  return line.length > STAMP_LENGTH + CLIENT_MARK.length
    && line.compare(CLIENT_MARK, 0, CLIENT_MARK.length, STAMP_LENGTH, STAMP_LENGTH + CLIENT_MARK.length) === 0;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}
