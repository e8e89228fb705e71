import lockfile from 'proper-lockfile';
import { KeyFileError } from './errors.js';

/** The lock directory that serialises writers of a key file and its history. */
export function lockPathFor(keyFile: string): string {
  return `${keyFile}.lock`;
}

/**
 * Runs `fn` while holding the key file's lock. A lock left by a killed process goes stale
 * after 2 s (the lock library's minimum) and is taken over; a live holder refreshes it.
 */
export async function withKeyLock<T>(keyFile: string, fn: () => Promise<T>): Promise<T> {
  let release: () => Promise<void>;
  let compromised: Error | undefined;
  try {
    release = await lockfile.lock(keyFile, {
      lockfilePath: lockPathFor(keyFile),
      realpath: false,
      stale: 2000,
      update: 1000,
      // Waits up to ~15 s in all: long enough for a stale lock to expire and a queue of writers to pass.
      retries: { retries: 60, factor: 1.2, minTimeout: 10, maxTimeout: 400, randomize: true },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    throw new KeyFileError('LOCK_FAILED', `cannot lock ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const result = await fn();
    if (compromised) throw new KeyFileError('LOCK_FAILED', `lost the lock on ${keyFile}: ${compromised.message}`);
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}
