import { constants } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { platform as osPlatform } from 'node:os';
import { replaceFile, writeAll } from './atomic-write.js';
import { KeyFileError, isErrnoCode } from './errors.js';
import { MAX_KEY_FILE_BYTES, keyFromBytes } from './key.js';
import { FileReads, openRegular } from './regular-file.js';

/** Mode of every file this project creates that holds a key. */
export const SECRET_FILE_MODE = 0o600;

/** Options for writeKeyFile. */
export interface WriteKeyFileOptions {
  /** Told when the atomic rename was impossible and the file was rewritten in place. */
  onFallback?: (reason: string) => void;
  /** Platform, injectable so the Windows retry path can be tested anywhere. */
  platform?: NodeJS.Platform;
  /** The atomic replacement, injectable so its failures (EXDEV, EBUSY, EPERM) can be tested anywhere. */
  replace?: typeof replaceFile;
  /** Waits between Windows retries; injectable so a test sees the backoff without spending it. */
  sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads and validates the key in `path`; throws a typed KeyFileError, never returns a partial key.
 * Only a regular file is read (through symlinks: a Kubernetes Secret volume is links all the way down),
 * never more than 4 KiB of it, and never waiting on a FIFO; `reads` bounds the time (see FileReads) and,
 * when it has an owner (the daemon's), refuses a file of another user (KEY_UNTRUSTED).
 */
export async function readKeyFile(path: string, reads: FileReads = new FileReads()): Promise<string> {
  let bytes: Buffer;
  try {
    ({ bytes } = await reads.read(path, { maxBytes: MAX_KEY_FILE_BYTES, owned: true }));
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) throw new KeyFileError('KEY_MISSING', `key file ${path} does not exist`, { cause: err });
    throw new KeyFileError('KEY_UNREADABLE', `key file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return keyFromBytes(bytes);
}

/**
 * Replaces the key file atomically (replaceFile: an exclusive temporary file, fsync, rename, fsync of the
 * directory), mode 0600, owned by the writer. A reader sees the old key or the new one, never an empty
 * or torn file. `path` is written as given: writeTarget decides first whether it may be.
 */
export async function writeKeyFile(path: string, key: string, options: WriteKeyFileOptions = {}): Promise<void> {
  await writeSecretFile(path, Buffer.from(key + '\n'), { ...options, label: 'key file', code: 'KEY_WRITE_FAILED' });
}

/** What writeSecretFile calls the file in its messages and which code its failures carry. */
export interface SecretFileOptions extends WriteKeyFileOptions {
  label: string;
  code: 'KEY_WRITE_FAILED' | 'CLIENTS_WRITE_FAILED';
}

/**
 * Replaces a file that holds or decides keys as writeKeyFile does: atomically, 0600, the writer's own inode;
 * in place where a rename is impossible (a bind-mounted single file), retried on Windows while another
 * process holds the old file open.
 */
export async function writeSecretFile(path: string, content: Buffer, options: SecretFileOptions): Promise<void> {
  const platform = options.platform ?? osPlatform();
  const { label, code } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      await (options.replace ?? replaceFile)(path, content, SECRET_FILE_MODE);
      return;
    } catch (err) {
      // A bind-mounted single file cannot be renamed over (EBUSY) or lives on another device (EXDEV).
      if (isErrnoCode(err, 'EXDEV') || (platform !== 'win32' && isErrnoCode(err, 'EBUSY'))) {
        options.onFallback?.(`atomic rename impossible (${(err as NodeJS.ErrnoException).code}); rewrote the ${label} in place`);
        await writeInPlace(path, content, options);
        return;
      }
      // On Windows a rename over a file another process holds open fails for a moment.
      if (platform === 'win32' && isErrnoCode(err, 'EPERM', 'EBUSY', 'EACCES') && attempt < 8) {
        await (options.sleep ?? sleepFor)(10 * 2 ** attempt);
        continue;
      }
      throw new KeyFileError(code, `cannot write ${label} ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

// Overwrite, then cut the tail: the file is never empty, and keys of equal length are never torn.
async function writeInPlace(path: string, bytes: Buffer, { label, code }: SecretFileOptions): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await openRegular(path, constants.O_RDWR | (constants.O_NOFOLLOW ?? 0));
    await handle.chmod(SECRET_FILE_MODE);
    await writeAll(handle, bytes, 0);
    await handle.truncate(bytes.length);
    await handle.sync();
  } catch (err) {
    throw new KeyFileError(code, `cannot rewrite ${label} ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await handle?.close();
  }
}
