import { isErrnoCode } from './errors.js';
import { FileReads } from './regular-file.js';

/**
 * How much of the history's end is read for its state. The state needs the current key, the rotation
 * that made it current and the one before (whose key must be the one that rotation replaced): the last
 * few lines. 64 KiB holds some 650 lines of ordinary history.
 */
export const HISTORY_TAIL_BYTES = 64 * 1024;

/** The end of a history file. */
export interface HistoryTail {
  /** The complete lines within the last `maxBytes` (a line cut by the start of the window is dropped). */
  text: string;
  /** The file's size in bytes. */
  size: number;
  /** Whether the file holds more than was read. */
  truncated: boolean;
}

/**
 * Reads the last `maxBytes` of a history file, so memory and time stay the same whatever its size. A
 * missing file is an empty history; anything but a regular file fails (KEY_NOT_REGULAR), as does a read
 * that does not finish in time (KEY_READ_TIMEOUT).
 */
export async function readHistoryTail(path: string, reads: FileReads = new FileReads(), maxBytes = HISTORY_TAIL_BYTES): Promise<HistoryTail> {
  let bytes: Buffer;
  let size: number;
  try {
    // One byte more than the window: when it is a newline, the window starts exactly at a line.
    ({ bytes, size } = await reads.read(path, { maxBytes: maxBytes + 1, fromEnd: true }));
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) return { text: '', size: 0, truncated: false };
    throw err;
  }
  const truncated = size > bytes.length;
  if (!truncated) return { text: bytes.toString('utf8'), size, truncated };
  const firstBreak = bytes.indexOf(0x0a);
  return { text: firstBreak === -1 ? '' : bytes.subarray(firstBreak + 1).toString('utf8'), size, truncated };
}
