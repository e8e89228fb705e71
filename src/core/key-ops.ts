import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyFileError, isErrnoCode } from './errors.js';
import { fingerprint, generateKey } from './key.js';
import { readKeyFile, writeKeyFile } from './key-file.js';
import { Action, GRACE_UNTIL, historyPathFor } from './history.js';
import { appendHistory } from './history-file.js';
import { historyCurrentKey } from './history-current.js';
import type { HistoryEntry } from './history.js';
import { withKeyLock } from './lock.js';
import type { Identity } from './file-trust.js';
import { writeTarget } from './write-target.js';
import type { WriteTarget } from './write-target.js';

/** What the key operations need from outside; everything has a real default. */
export interface KeyOpsOptions {
  keyFile: string;
  clock?: () => Date;
  random?: (size: number) => Buffer;
  /** Told about anything unusual (e.g. an in-place write instead of a rename). */
  onNote?: (message: string) => void;
  /** Who writes (uid, platform): files of another user are refused (writeTarget). */
  identity?: Identity;
}

/** Options of a rotation: the old key's overlap window, or its immediate end. */
export interface RotateOptions extends KeyOpsOptions {
  /** Overlap window for the replaced key in ms; undefined leaves it to the server's default. */
  graceMs?: number;
  /** End the replaced key at once, whatever any grace says. */
  revoke?: boolean;
}

/** Creates a key and logs it `Generated`; refuses when a key exists unless `force`. */
export async function generateKeyFile(options: KeyOpsOptions & { force?: boolean }): Promise<string> {
  const { keyFile } = options;
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  return withKeyLock(keyFile, async () => {
    const targets = await writeTargets(options);
    if (!options.force) {
      const existing = await readKeyFile(keyFile).then(() => 'valid', (err: KeyFileError) => err.code);
      if (existing === 'valid') throw new KeyFileError('KEY_EXISTS', `a key already exists in ${keyFile} (use --force to replace it)`);
      if (existing !== 'KEY_MISSING' && existing !== 'KEY_EMPTY') {
        throw new KeyFileError('KEY_EXISTS', `${keyFile} holds something that is not a valid key (${existing}); use --force to replace it`);
      }
    }
    const key = generateKey(options.random);
    await commit(options, targets, [{ time: now(options), action: Action.generated, key }], key);
    return key;
  });
}

/**
 * Replaces the current key: logs `Rotated (replaced)` and `Rotated (new)`, then swaps the file. When the key
 * file holds no usable key (missing, empty, invalid), the key replaced is the history's current one, which
 * running servers keep in force, so --grace and --revoke still apply to the key clients use; `onNote` says so.
 */
export async function rotateKeyFile(options: RotateOptions): Promise<{ key: string; previous: string }> {
  const { keyFile } = options;
  return withKeyLock(keyFile, () => rotateLocked(options)).catch((err: unknown) => {
    // No directory, so no lock: the same as no key, which deserves the same hint.
    if (err instanceof KeyFileError && err.code === 'LOCK_FAILED' && isErrnoCode(err.cause, 'ENOENT', 'ENOTDIR')) {
      throw new KeyFileError('KEY_MISSING', `no key to rotate in ${keyFile}; run "manage-key generate" first`, { cause: err });
    }
    throw err;
  });
}

async function rotateLocked(options: RotateOptions): Promise<{ key: string; previous: string }> {
  const { keyFile } = options;
  // Checked before the old key is read: a key file linked to someone else's file must not reach the history.
  const targets = await writeTargets(options);
  const { previous, broken } = await keyToReplace(keyFile);
  const key = generateKey(options.random);
  const time = now(options);
  const entries: HistoryEntry[] = [
    { time, action: Action.replaced, key: previous },
    { time, action: Action.rotatedNew, key },
  ];
  if (options.revoke) {
    entries.push({ time, action: Action.revoked, key: previous });
  } else if (options.graceMs !== undefined) {
    const until = new Date(time.getTime() + options.graceMs);
    entries.push({ time, action: GRACE_UNTIL + until.toISOString(), key: previous });
  }
  await commit(options, targets, entries, key);
  if (broken) {
    options.onNote?.(`the key file ${keyFile} held no usable key (${broken.message}); this rotation replaced the history's current key `
      + `${fingerprint(previous)}, the one running servers keep in force`);
  }
  return { key, previous };
}

// The key file's problems that leave running servers on their last good key (the history's current one).
const NO_USABLE_KEY: ReadonlySet<string> = new Set(['KEY_MISSING', 'KEY_EMPTY', 'KEY_TOO_LARGE', 'KEY_INVALID_CHARS', 'KEY_BAD_ENCODING']);

// The key a rotation replaces: the key file's; when the file holds none, the key running servers keep in
// force, which is the history's current key. Replacing any other would leave servers on a key no rotation
// ends, and `generate --force` would end it for every client at once.
async function keyToReplace(keyFile: string): Promise<{ previous: string; broken?: KeyFileError }> {
  try {
    return { previous: await readKeyFile(keyFile) };
  } catch (err) {
    if (!(err instanceof KeyFileError) || !NO_USABLE_KEY.has(err.code)) throw err;
    const current = await historyCurrentKey(keyFile);
    if ('key' in current) return { previous: current.key, broken: err };
    if (err.code === 'KEY_MISSING') {
      throw new KeyFileError('KEY_MISSING', `no key to rotate in ${keyFile}; run "manage-key generate" first`, { cause: err });
    }
    throw new KeyFileError(err.code, `${err.message}, and its history ${current.unusable}, so there is no key to rotate `
      + '(fix the file, or start afresh with "manage-key generate --force", which gives no window)', { cause: err });
  }
}

// Write-ahead: the history knows a key before the key file puts it in force. A run that fails (a full
// disk, a directory it cannot write) takes its history lines back out, so it changes nothing; a run
// killed half way leaves them, for a key that never came into force, which the history's readers allow.
async function commit(options: KeyOpsOptions, targets: Targets, entries: HistoryEntry[], key: string): Promise<void> {
  const takeBack = await appendHistory(targets.history.path, entries);
  try {
    await writeKeyFile(targets.key.path, key, { onFallback: options.onNote });
  } catch (err) {
    await takeBack().catch(() => undefined);
    throw err;
  }
}

interface Targets { key: WriteTarget; history: WriteTarget }

// Where the key file and the history may be written, or a KEY_UNTRUSTED refusal naming why not.
async function writeTargets(options: KeyOpsOptions): Promise<Targets> {
  return {
    key: await writeTarget(options.keyFile, options.identity),
    history: await writeTarget(historyPathFor(options.keyFile), options.identity),
  };
}

function now(options: KeyOpsOptions): Date {
  return (options.clock ?? (() => new Date()))();
}
