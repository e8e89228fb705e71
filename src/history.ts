import { open, readFile, rm } from 'node:fs/promises';
import { isErrnoCode } from './errors.js';
import { SECRET_FILE_MODE } from './key-file.js';

/** The documented history actions; the current key is the latest Generated or Rotated (new). */
export const Action = {
  generated: 'Generated',
  replaced: 'Rotated (replaced)',
  rotatedNew: 'Rotated (new)',
  revoked: 'Revoked',
} as const;

/** Prefix of the action that records a rotation's own overlap window for the replaced key. */
export const GRACE_UNTIL = 'Grace until ';

/** One line of the history: `YYYY-MM-DD HH:MM:SS | Action | Key`, time in local time. */
export interface HistoryEntry {
  time: Date;
  action: string;
  key: string;
}

/** What the history says about which keys are valid. */
export interface HistoryState {
  current?: { key: string; since: Date };
  /** The key replaced by the latest rotation, with what that rotation said about it. */
  previous?: { key: string; replacedAt: Date; graceUntil?: Date; revoked: boolean };
  revoked: ReadonlySet<string>;
}

const LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) \| (.+?) \| (\S+)$/;

/** The history file that belongs to a key file. */
export function historyPathFor(keyFile: string): string {
  return `${keyFile}_history`;
}

/** Formats a time as the history does: local `YYYY-MM-DD HH:MM:SS`. */
export function formatStamp(time: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} `
    + `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
}

/** Formats one history line, without its newline. */
export function formatEntry(entry: HistoryEntry): string {
  return `${formatStamp(entry.time)} | ${entry.action} | ${entry.key}`;
}

/** Parses history text; lines that are not well formed are skipped and counted. */
export function parseHistory(text: string): { entries: HistoryEntry[]; malformed: number } {
  const entries: HistoryEntry[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      malformed++;
      continue;
    }
    const [, y, mo, d, h, mi, s, action, key] = m;
    const time = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    // Date rolls impossible fields over (2024-02-30 becomes March 1st); such a line is not well formed.
    if (time.getMonth() !== Number(mo) - 1 || time.getDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
      malformed++;
      continue;
    }
    entries.push({ time, action: action!, key: key! });
  }
  return { entries, malformed };
}

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

/** Derives the current key, the previous key's fate and the revoked keys from history entries. */
export function deriveState(entries: readonly HistoryEntry[]): HistoryState {
  const revoked = new Set<string>();
  let current: HistoryState['current'];
  let previous: HistoryState['previous'];
  let replaced: string | undefined;
  for (const entry of entries) {
    if (entry.action === Action.replaced) {
      replaced = entry.key;
    } else if (entry.action === Action.rotatedNew) {
      const old = replaced ?? current?.key;
      previous = old !== undefined && old !== entry.key
        ? { key: old, replacedAt: entry.time, revoked: revoked.has(old) }
        : undefined;
      current = { key: entry.key, since: entry.time };
      replaced = undefined;
    } else if (entry.action === Action.generated) {
      // A (forced) generation starts afresh: no earlier key keeps a window.
      current = { key: entry.key, since: entry.time };
      previous = undefined;
      replaced = undefined;
    } else if (entry.action === Action.revoked) {
      revoked.add(entry.key);
      if (previous?.key === entry.key) previous.revoked = true;
    } else if (entry.action.startsWith(GRACE_UNTIL) && previous?.key === entry.key) {
      const until = new Date(entry.action.slice(GRACE_UNTIL.length));
      if (!Number.isNaN(until.getTime())) previous.graceUntil = until;
    }
  }
  return { current, previous, revoked };
}
