import type { Stats } from 'node:fs';
import { constants, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { KeyFileError, isErrnoCode } from './errors.js';

/** Longest wait for one read of a key or history file before the reader gives up on it. */
export const READ_TIMEOUT_MS = 5000;

// O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer (forever,
// and a thread blocked in open() also keeps Node from exiting). Windows has neither flag: 0 there.
const NONBLOCK = constants.O_NONBLOCK ?? 0;
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Flags for opening a file to read without ever blocking in open(); `noFollow` refuses a symlink at the path. */
export function readFlags(noFollow = false): number {
  return constants.O_RDONLY | NONBLOCK | (noFollow ? NOFOLLOW : 0);
}

/**
 * Opens `path` with `flags` (plus O_NONBLOCK) and returns the handle only when it is a regular file that
 * `accept` (given the opened file's stats) does not refuse by throwing.
 */
export async function openRegular(path: string, flags: number, mode?: number, openFile: typeof open = open,
  accept?: (stats: Stats) => void): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await openFile(path, flags | NONBLOCK, mode);
  } catch (err) {
    // ENXIO: a socket, or a FIFO opened for writing with no reader; ELOOP: a symlink where none may be.
    if (isErrnoCode(err, 'ENXIO', 'ELOOP')) throw notRegular(path, isErrnoCode(err, 'ELOOP') ? 'a symbolic link' : 'a socket or FIFO', err);
    throw err;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const kind = stats.isFIFO() ? 'a FIFO' : stats.isDirectory() ? 'a directory' : stats.isSocket() ? 'a socket' : 'a device';
      throw notRegular(path, kind);
    }
    accept?.(stats);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  return handle;
}

/** The bytes read and the file's size at the time. */
export interface RegularRead {
  bytes: Buffer;
  size: number;
}

/** Options of one bounded read. */
export interface BoundedReadOptions {
  /** The most bytes wanted; from the start one more is read, so a file over the limit can be told from one at it. */
  maxBytes: number;
  /** Read the last `maxBytes` rather than the first. */
  fromEnd?: boolean;
  /**
   * From the start, size the buffer by the file's size when opened rather than by `maxBytes` (for limits of
   * megabytes); a file that grew meanwhile is read to one byte past that size, so the caller sees it changed.
   */
  fitToSize?: boolean;
  noFollow?: boolean;
  /**
   * Refuse (KEY_UNTRUSTED) a file that belongs to neither the reader's own user (`ownerUid` of FileReads)
   * nor root: whoever owns a file decides what it says. Looked at on the opened file, so a swap between a
   * check and the read changes nothing. Without an `ownerUid` (Windows, or a reader that does not ask) it
   * is not looked at.
   */
  owned?: boolean;
}

/**
 * Reads regular files only, each read bounded in size and in time: a read that has not finished after
 * `timeoutMs` fails with KEY_READ_TIMEOUT so a serial reload chain moves on. The stalled read keeps its
 * thread until the file system answers (nothing can cancel it); while it does, further reads of that path
 * fail at once instead of stalling one more of libuv's four threads.
 */
export class FileReads {
  readonly #timeoutMs: number;
  readonly #openFile: typeof open;
  readonly #ownerUid: number | undefined;
  readonly #stalled = new Set<string>();

  /**
   * `openFile` is injectable so tests can stall a read. `ownerUid`: the user whose files (and root's) reads
   * with `owned` accept; the daemon passes its effective uid.
   */
  constructor(options: { timeoutMs?: number; openFile?: typeof open; ownerUid?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? READ_TIMEOUT_MS;
    this.#openFile = options.openFile ?? open;
    this.#ownerUid = options.ownerUid;
  }

  /**
   * Reads at most `maxBytes` of the regular file at `path`; throws KeyFileError (KEY_NOT_REGULAR,
   * KEY_READ_TIMEOUT, KEY_UNTRUSTED) or the system error.
   */
  read(path: string, options: BoundedReadOptions): Promise<RegularRead> {
    const owner = options.owned ? this.#ownerUid : undefined;
    const accept = owner === undefined ? undefined : (stats: Stats) => {
      if (stats.uid !== owner && stats.uid !== 0) throw notOwned(path, stats.uid, owner);
    };
    return this.withFile(path, (handle) => readBounded(handle, options), options.noFollow, accept);
  }

  /** Opens the regular file at `path` for reading and runs `operation` on it under one deadline; closes it after. */
  withFile<T>(path: string, operation: (handle: FileHandle) => Promise<T>, noFollow = false, accept?: (stats: Stats) => void): Promise<T> {
    return this.within(path, async () => {
      const handle = await openRegular(path, readFlags(noFollow), undefined, this.#openFile, accept);
      try {
        return await operation(handle);
      } finally {
        await handle.close().catch(() => undefined);
      }
    });
  }

  /** Runs one file-system operation on `path` under the deadline (a stat, a realpath); see the class. */
  async within<T>(path: string, operation: () => Promise<T>): Promise<T> {
    if (this.#stalled.has(path)) throw timedOut(path, 'an earlier read of it has still not returned');
    const work = operation();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#stalled.add(path);
        void work.catch(() => undefined).finally(() => this.#stalled.delete(path));
        reject(timedOut(path, `no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readBounded(handle: FileHandle, options: BoundedReadOptions): Promise<RegularRead> {
  const { size } = await handle.stat();
  const start = options.fromEnd ? Math.max(0, size - options.maxBytes) : 0;
  // One byte past the limit when reading from the start: enough to tell an absurd file from one at the limit.
  const length = options.fromEnd ? Math.min(size, options.maxBytes) : (options.fitToSize ? Math.min(size, options.maxBytes) : options.maxBytes) + 1;
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return { bytes: buffer.subarray(0, filled), size };
}

function notRegular(path: string, kind: string, cause?: unknown): KeyFileError {
  return new KeyFileError('KEY_NOT_REGULAR', `${path} is ${kind}, not a regular file; only regular files are read`, { cause });
}

function notOwned(path: string, uid: number, owner: number): KeyFileError {
  return new KeyFileError('KEY_UNTRUSTED', `${path} belongs to another user (uid ${uid}); only files of this user (uid ${owner}) or root are read`);
}

function timedOut(path: string, why: string): KeyFileError {
  return new KeyFileError('KEY_READ_TIMEOUT', `reading ${path} did not finish: ${why}`);
}
