import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { TlsError } from './tls-error.js';

/** Where the certificate, its private key and (for client certificates) the CA are read from. */
export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle that client certificates must chain to; absent means none are asked for. */
  ca?: string;
}

/** The files' bytes, as read together. */
export interface TlsFileBytes {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Largest file read: a certificate chain or a CA bundle is a few KiB, a system-wide bundle ~250 KiB. */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

/** Reads the three files; throws a TlsError naming the file that could not be read. */
export async function readTlsFiles(files: TlsFiles): Promise<TlsFileBytes> {
  const [cert, key, ca] = await Promise.all([
    readBounded(files.cert, 'certificate'),
    readBounded(files.key, 'private key'),
    files.ca === undefined ? undefined : readBounded(files.ca, 'client CA'),
  ]);
  return { cert, key, ca };
}

// O_NONBLOCK: opening a FIFO someone put in place of a file must not wait for a writer (and hold
// one of libuv's few threads, stalling every other read); O_NOCTTY: never adopt a terminal.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** A regular file's content, at most MAX_TLS_FILE_BYTES; anything else (a directory, FIFO, device) is refused. */
async function readBounded(path: string, what: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' || code === 'ENOTDIR' ? 'TLS_FILE_MISSING' : 'TLS_FILE_UNREADABLE';
    throw new TlsError(reason, `cannot read the ${what} ${path} (${code ?? (err as Error).message})`, { cause: err });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new TlsError('TLS_FILE_UNREADABLE', `the ${what} ${path} is not a regular file`);
    if (stats.size > MAX_TLS_FILE_BYTES) throw new TlsError('TLS_FILE_TOO_LARGE', `the ${what} ${path} is over ${MAX_TLS_FILE_BYTES} bytes`);
    // Sized by the stat plus one byte, grown if the file grew since, and refused once past the limit.
    let buffer = Buffer.alloc(Math.min(stats.size + 1, MAX_TLS_FILE_BYTES + 1));
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_TLS_FILE_BYTES) throw new TlsError('TLS_FILE_TOO_LARGE', `the ${what} ${path} is over ${MAX_TLS_FILE_BYTES} bytes`);
      if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.alloc(Math.min(buffer.length, MAX_TLS_FILE_BYTES + 1 - length))]);
    }
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof TlsError) throw err;
    throw new TlsError('TLS_FILE_UNREADABLE', `cannot read the ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  } finally {
    await handle.close();
  }
}
