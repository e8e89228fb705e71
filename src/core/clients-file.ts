import { dirname, join } from 'node:path';
import { clientNameProblem } from './client-name.js';
import { KeyFileError, isErrnoCode } from './errors.js';
import { decodeText } from './key.js';
import { writeSecretFile } from './key-file.js';
import type { WriteKeyFileOptions } from './key-file.js';
import { FileReads } from './regular-file.js';

/** The clients file's name beside the key file: both programs derive the default from the key file alike. */
export const CLIENTS_FILE_NAME = '.api_clients';
/** The format version this code reads and writes; another version is refused, never guessed at. */
export const CLIENTS_FILE_VERSION = 1;
/** Largest clients file read: about 50,000 named keys. */
export const MAX_CLIENTS_FILE_BYTES = 8 * 1024 * 1024;
/** A week: what "expires soon" means in health, status and metrics. */
export const EXPIRING_SOON_MS = 7 * 86_400_000;

/** One named key as the clients file holds it: its SHA-256 digest, never the key. */
export interface ClientRecord {
  name: string;
  /** Hex SHA-256 of the key. */
  sha256: string;
  created: Date;
  /** When the key stops being valid; absent means never. */
  expires?: Date;
  /** The key a rotation replaced: valid until `until`, else for the server's --grace after `rotated`. */
  previous?: { sha256: string; rotated: Date; until?: Date };
}

/** The clients file beside a key file: `<key file's directory>/.api_clients`. */
export function clientsPathFor(keyFile: string): string {
  return join(dirname(keyFile), CLIENTS_FILE_NAME);
}

const DIGEST = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?Z$/;

/**
 * Reads clients-file bytes (JSON, UTF-8 or UTF-16 with a BOM): `{"version":1,"clients":[...]}`. All or
 * nothing: one bad entry, a duplicate name or digest, or another version makes the whole file
 * CLIENTS_INVALID, since a half-valid file is most likely a half-finished edit.
 */
export function parseClients(bytes: Buffer): ClientRecord[] {
  if (bytes.length > MAX_CLIENTS_FILE_BYTES) {
    throw new KeyFileError('CLIENTS_TOO_LARGE', `clients file is ${bytes.length} bytes; at most ${MAX_CLIENTS_FILE_BYTES} are read`);
  }
  let document: unknown;
  try {
    document = JSON.parse(decodeText(bytes));
  } catch (err) {
    // V8's JSON errors quote the text around the fault, which could be a key pasted in by mistake: only the position is kept.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw invalid(err instanceof KeyFileError ? 'not valid UTF-8 or UTF-16 text' : `not JSON${at === undefined ? '' : ` (at character ${at})`}`);
  }
  if (!isObject(document)) throw invalid('not a JSON object');
  if (document.version !== CLIENTS_FILE_VERSION) {
    throw invalid(`version ${JSON.stringify(document.version)} is not ${CLIENTS_FILE_VERSION}, the version this program reads`);
  }
  if (!Array.isArray(document.clients)) throw invalid('"clients" is not a list');
  const names = new Set<string>();
  const digests = new Set<string>();
  return document.clients.map((entry: unknown, index: number) => {
    const record = parseRecord(entry, `client ${index + 1}`);
    if (names.has(record.name)) throw invalid(`the name ${record.name} appears twice`);
    names.add(record.name);
    for (const digest of [record.sha256, record.previous?.sha256]) {
      if (digest === undefined) continue;
      if (digests.has(digest)) throw invalid(`${record.name} shares a key digest with another entry`);
      digests.add(digest);
    }
    return record;
  });
}

function parseRecord(entry: unknown, where: string): ClientRecord {
  if (!isObject(entry)) throw invalid(`${where} is not an object`);
  const name = entry.name;
  if (typeof name !== 'string') throw invalid(`${where} has no name`);
  const problem = clientNameProblem(name);
  if (problem) throw invalid(`${where}: the name ${problem}`);
  const record: ClientRecord = { name, sha256: digest(entry.sha256, name), created: time(entry.created, `${name}: created`) };
  if (entry.expires !== undefined && entry.expires !== null) record.expires = time(entry.expires, `${name}: expires`);
  const previous = entry.previous;
  if (previous !== undefined && previous !== null) {
    if (!isObject(previous)) throw invalid(`${name}: previous is not an object`);
    record.previous = { sha256: digest(previous.sha256, name), rotated: time(previous.rotated, `${name}: previous.rotated`) };
    if (previous.until !== undefined && previous.until !== null) record.previous.until = time(previous.until, `${name}: previous.until`);
  }
  return record;
}

/** The file's bytes for `records`: one client per line, so a diff shows one line per change. */
export function formatClients(records: readonly ClientRecord[]): Buffer {
  const lines = records.map((r) => JSON.stringify({
    name: r.name, sha256: r.sha256, created: r.created.toISOString(), expires: r.expires?.toISOString(),
    previous: r.previous && { sha256: r.previous.sha256, rotated: r.previous.rotated.toISOString(), until: r.previous.until?.toISOString() },
  }));
  return Buffer.from(`{"version":${CLIENTS_FILE_VERSION},"clients":[${lines.length ? `\n${lines.join(',\n')}\n` : ''}]}\n`);
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
    return (await reads.read(path, { maxBytes: MAX_CLIENTS_FILE_BYTES, fitToSize: true })).bytes;
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Replaces the clients file as the key file is replaced (writeSecretFile): atomically, mode 0600, the writer's own. */
export async function writeClientsFile(path: string, records: readonly ClientRecord[], options: WriteKeyFileOptions = {}): Promise<void> {
  await writeSecretFile(path, formatClients(records), { ...options, label: 'clients file', code: 'CLIENTS_WRITE_FAILED' });
}

function digest(value: unknown, name: string): string {
  if (typeof value !== 'string' || !DIGEST.test(value)) throw invalid(`${name}: sha256 is not 64 lower-case hex digits`);
  return value;
}

function time(value: unknown, what: string): Date {
  const date = typeof value === 'string' && ISO_TIME.test(value) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw invalid(`${what} is not an ISO-8601 UTC time`);
  return date;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(why: string): KeyFileError {
  return new KeyFileError('CLIENTS_INVALID', `clients file is unusable: ${why}`);
}
