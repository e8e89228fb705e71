import * as fs from 'node:fs';
import lockfile from 'proper-lockfile';
import { KeyFileError, isErrnoCode } from './errors.js';

/** The lock directory that serialises writers of a key file and its history. */
export function lockPathFor(keyFile: string): string {
  return `${keyFile}.lock`;
}

/** Mode of the lock directory: only its owner may enter it, whatever the umask. */
export const LOCK_DIR_MODE = 0o700;

// The lock library creates its directory with mkdir's default 0777 less the umask (0777 under umask 000).
const lockFs = { ...fs, mkdir: (path: string, done: (err: NodeJS.ErrnoException | null) => void) => fs.mkdir(path, LOCK_DIR_MODE, done) };

/** How long a writer waits for another one: long enough for a stale lock to expire and a queue to pass. */
export const LOCK_WAIT_MS = 15_000;

/**
 * Runs `fn` while holding the key file's lock. A lock left by a killed process goes stale
 * after 2 s (the lock library's minimum) and is taken over; a live holder refreshes it. A writer
 * waits `waitMs` (LOCK_WAIT_MS) for another.
 */
export async function withKeyLock<T>(keyFile: string, fn: () => Promise<T>, waitMs = LOCK_WAIT_MS): Promise<T> {
  let compromised: Error | undefined;
  const release = await acquire(keyFile, waitMs, (err) => {
    compromised = err;
  });
  try {
    const result = await fn();
    if (compromised) throw new KeyFileError('LOCK_FAILED', `lost the lock on ${keyFile}: ${compromised.message}`);
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}

// The library's own retries would also retry ENOENT/EACCES for ~20 s; only a held lock is worth waiting for.
async function acquire(keyFile: string, waitMs: number, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await lockfile.lock(keyFile, {
        lockfilePath: lockPathFor(keyFile),
        realpath: false,
        fs: lockFs,
        stale: 2000,
        update: 1000,
        retries: 0,
        onCompromised,
      });
    } catch (err) {
      if (isErrnoCode(err, 'ELOCKED') && Date.now() < deadline) {
        const backoff = Math.min(400, 10 * 1.2 ** attempt) * (1 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, Math.max(0, deadline - Date.now()))));
        continue;
      }
      const reason = isErrnoCode(err, 'ELOCKED')
        ? `another run still holds ${lockPathFor(keyFile)} after ${waitMs / 1000} s`
        : (err as Error).message;
      throw new KeyFileError('LOCK_FAILED', `cannot lock ${keyFile}: ${reason}`, { cause: err });
    }
  }
}
