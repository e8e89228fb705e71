import { dirname, join } from 'node:path';
import { MAX_CLIENTS_FILE_BYTES, formatClients, parseClients } from './clients-format.js';
import type { ClientRecord } from './clients-format.js';
import { isErrnoCode } from './errors.js';
import { writeSecretFile } from './key-file.js';
import type { WriteKeyFileOptions } from './key-file.js';
import { FileReads } from './regular-file.js';

/** The clients file's name beside the key file: both programs derive the default from the key file alike. */
export const CLIENTS_FILE_NAME = '.api_clients';
/** A week: what "expires soon" means in health, status and metrics. */
export const EXPIRING_SOON_MS = 7 * 86_400_000;

/** The clients file beside a key file: `<key file's directory>/.api_clients`. */
export function clientsPathFor(keyFile: string): string {
  return join(dirname(keyFile), CLIENTS_FILE_NAME);
}

/**
 * Reads and validates the clients file, bounded in size and time (FileReads: regular files only, never
 * waiting on a FIFO). Resolves to undefined when there is none: no named keys, not an error.
 */
export async function readClientsFile(path: string, reads: FileReads = new FileReads()): Promise<ClientRecord[] | undefined> {
  const bytes = await readClientsBytes(path, reads);
  return bytes && parseClients(bytes);
}

/** The clients file's raw bytes (at most one past the limit), or undefined when it does not exist. */
export async function readClientsBytes(path: string, reads: FileReads = new FileReads()): Promise<Buffer | undefined> {
  try {
    return (await reads.read(path, { maxBytes: MAX_CLIENTS_FILE_BYTES, fitToSize: true, owned: true })).bytes;
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Replaces the clients file as the key file is replaced (writeSecretFile): atomically, mode 0600, the writer's own. */
export async function writeClientsFile(path: string, records: readonly ClientRecord[], options: WriteKeyFileOptions = {}): Promise<void> {
  await writeSecretFile(path, formatClients(records), { ...options, label: 'clients file', code: 'CLIENTS_WRITE_FAILED' });
}

