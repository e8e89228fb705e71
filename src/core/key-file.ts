import { open } from 'node:fs/promises';
import { platform as osPlatform } from 'node:os';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { KeyFileError, isErrnoCode } from './errors.js';
import { MAX_KEY_FILE_BYTES, keyFromBytes } from './key.js';

/** Mode of every file this project creates that holds a key. */
export const SECRET_FILE_MODE = 0o600;

/** Options for writeKeyFile. */
export interface WriteKeyFileOptions {
  /** Told when the atomic rename was impossible and the file was rewritten in place. */
  onFallback?: (reason: string) => void;
  /** Platform, injectable so the Windows retry path can be tested anywhere. */
  platform?: NodeJS.Platform;
}

/** Reads and validates the key in `path`; throws a typed KeyFileError, never returns a partial key. */
export async function readKeyFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      // Read one byte past the limit: enough to reject an absurd file without loading it.
      const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      bytes = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) throw new KeyFileError('KEY_MISSING', `key file ${path} does not exist`, { cause: err });
    throw new KeyFileError('KEY_UNREADABLE', `key file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return keyFromBytes(bytes);
}

/**
 * Replaces the key file atomically (temp file, fsync, rename, fsync of the directory), mode 0600.
 * A reader sees the old key or the new one, never an empty or torn file.
 */
export async function writeKeyFile(path: string, key: string, options: WriteKeyFileOptions = {}): Promise<void> {
  const platform = options.platform ?? osPlatform();
  const content = key + '\n';
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFileAtomic(path, content, { mode: SECRET_FILE_MODE, fsync: true });
      break;
    } catch (err) {
      // A bind-mounted single file cannot be renamed over (EBUSY) or lives on another device (EXDEV).
      if (isErrnoCode(err, 'EXDEV') || (platform !== 'win32' && isErrnoCode(err, 'EBUSY'))) {
        options.onFallback?.(`atomic rename impossible (${(err as NodeJS.ErrnoException).code}); rewrote the key file in place`);
        await writeInPlace(path, content);
        return;
      }
      // On Windows a rename over a file another process holds open fails for a moment.
      if (platform === 'win32' && isErrnoCode(err, 'EPERM', 'EBUSY', 'EACCES') && attempt < 8) {
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
        continue;
      }
      throw new KeyFileError('KEY_WRITE_FAILED', `cannot write key file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  await fsyncDirectory(dirname(path));
}

// Overwrite, then cut the tail: the file is never empty, and keys of equal length are never torn.
async function writeInPlace(path: string, content: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const bytes = Buffer.from(content);
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(bytes.length);
    await handle.sync();
  } catch (err) {
    throw new KeyFileError('KEY_WRITE_FAILED', `cannot rewrite key file ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await handle.close();
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; directories cannot be opened for fsync on Windows.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}
