import { KeyFileError, isErrnoCode } from '../../core/errors.js';
import { FileReads } from '../../core/regular-file.js';
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
export async function readTlsFiles(files: TlsFiles, reads: FileReads = new FileReads()): Promise<TlsFileBytes> {
  const [cert, key, ca] = await Promise.all([
    readBounded(reads, files.cert, 'certificate'),
    readBounded(reads, files.key, 'private key'),
    files.ca === undefined ? undefined : readBounded(reads, files.ca, 'client CA'),
  ]);
  return { cert, key, ca };
}

/**
 * A regular file's content, at most MAX_TLS_FILE_BYTES, read as the key file is (non-blocking open, fstat,
 * a deadline): a FIFO, a directory or a device in place of a file is refused at once, never waited for.
 */
async function readBounded(reads: FileReads, path: string, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    ({ bytes } = await reads.read(path, { maxBytes: MAX_TLS_FILE_BYTES }));
  } catch (err) {
    const missing = isErrnoCode(err, 'ENOENT', 'ENOTDIR');
    const why = err instanceof KeyFileError ? `: ${err.message}` : ` ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    throw new TlsError(missing ? 'TLS_FILE_MISSING' : 'TLS_FILE_UNREADABLE', `cannot read the ${what}${why}`, { cause: err });
  }
  if (bytes.length > MAX_TLS_FILE_BYTES) throw new TlsError('TLS_FILE_TOO_LARGE', `the ${what} ${path} is over ${MAX_TLS_FILE_BYTES} bytes`);
  return bytes;
}
