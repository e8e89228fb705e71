import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { replaceFile } from './atomic-write.js';
import { clientAction } from './client-history.js';
import { readClientsFile, writeClientsFile } from './clients-file.js';
import type { ClientRecord } from './clients-format.js';
import { KeyFileError } from './errors.js';
import { historyPathFor } from './history.js';
import type { HistoryEntry } from './history.js';
import { appendHistory } from './history-file.js';
import { digestOf, fingerprintOfDigest, generateKey } from './key.js';
import type { KeyOpsOptions } from './key-ops.js';
import { withKeyLock } from './lock.js';
import { writeTarget } from './write-target.js';

/** What every named-key operation needs: the key file (its lock and history), the clients file, the name. */
export interface ClientOpsOptions extends KeyOpsOptions {
  clientsFile: string;
  name: string;
  /** The atomic replacement, injectable so a failed write can be tested. */
  replace?: typeof replaceFile;
}

/** A new key for a client, and the record now in the clients file. */
export interface IssuedKey {
  key: string;
  record: ClientRecord;
}

/** Creates a key for a new client (`expiresMs` from now, if given); logs `Client added (NAME)`. */
export async function addClient(options: ClientOpsOptions & { expiresMs?: number }): Promise<IssuedKey> {
  return changeClients(options, (records, time) => {
    if (records.some((r) => r.name === options.name)) {
      throw new KeyFileError('CLIENT_EXISTS', `a client named ${options.name} exists already in ${options.clientsFile} (rotate or remove it)`);
    }
    const key = generateKey(options.random);
    const record: ClientRecord = { name: options.name, sha256: digestOf(key), created: time };
    if (options.expiresMs !== undefined) record.expires = new Date(time.getTime() + options.expiresMs);
    const entry = line(time, 'added', record, record.sha256, record.expires && `expires ${record.expires.toISOString()}`);
    return { records: [...records, record], entries: [entry], result: { key, record } };
  });
}

/** Ends a client's key (and any previous key of it) at once; logs `Client removed (NAME)`. */
export async function removeClient(options: ClientOpsOptions): Promise<ClientRecord> {
  return changeClients(options, (records, time) => {
    const record = find(records, options);
    return { records: records.filter((r) => r !== record), entries: [line(time, 'removed', record, record.sha256)], result: record };
  });
}

/** Options of a client's rotation: as the static key's, plus a new lifetime. */
export interface RotateClientOptions extends ClientOpsOptions {
  /** The old key's window in ms; undefined leaves it to the server's --grace. */
  graceMs?: number;
  /** End the old key at once. */
  revoke?: boolean;
  /** A new lifetime from now; undefined keeps the client's expiry. */
  expiresMs?: number;
}

/**
 * Gives a client a new key: logs the old one `Client replaced (NAME[, grace until T | , revoked])` and the new
 * one `Client rotated (NAME)`. Only the immediately previous key keeps a window, as for the static key.
 */
export async function rotateClient(options: RotateClientOptions): Promise<IssuedKey & { replaced: ClientRecord }> {
  return changeClients(options, (records, time) => {
    const old = find(records, options);
    if (old.expires && old.expires <= time && options.expiresMs === undefined) {
      throw new KeyFileError('CLIENT_EXPIRED', `client ${old.name} expired on ${old.expires.toISOString()}; rotate it with --expires D for a new lifetime, or remove it`);
    }
    const key = generateKey(options.random);
    const record: ClientRecord = { name: old.name, sha256: digestOf(key), created: time };
    const expires = options.expiresMs === undefined ? old.expires : new Date(time.getTime() + options.expiresMs);
    if (expires) record.expires = expires;
    const until = options.graceMs === undefined ? undefined : new Date(time.getTime() + options.graceMs);
    if (!options.revoke) record.previous = until ? { sha256: old.sha256, rotated: time, until } : { sha256: old.sha256, rotated: time };
    const fate = options.revoke ? 'revoked' : until && `grace until ${until.toISOString()}`;
    const entries = [
      line(time, 'replaced', old, old.sha256, fate),
      line(time, 'rotated', record, record.sha256, options.expiresMs === undefined ? undefined : `expires ${expires!.toISOString()}`),
    ];
    return { records: records.map((r) => (r === old ? record : r)), entries, result: { key, record, replaced: old } };
  });
}

interface Change<T> {
  records: ClientRecord[];
  entries: HistoryEntry[];
  result: T;
}

// Under the key file's lock, as every writer of the key files: the targets are checked (writeTarget) before
// anything is read, the history is written ahead of the clients file and taken back if that write fails.
async function changeClients<T>(options: ClientOpsOptions, change: (records: ClientRecord[], time: Date) => Change<T>): Promise<T> {
  const { keyFile, clientsFile } = options;
  for (const dir of new Set([dirname(keyFile), dirname(clientsFile)])) await mkdir(dir, { recursive: true, mode: 0o700 });
  return withKeyLock(keyFile, async () => {
    const clients = await writeTarget(clientsFile, options.identity);
    const history = await writeTarget(historyPathFor(keyFile), options.identity);
    const { records, entries, result } = change((await readClientsFile(clientsFile)) ?? [], (options.clock ?? (() => new Date()))());
    const takeBack = await appendHistory(history.path, entries);
    try {
      await writeClientsFile(clients.path, records, { onFallback: options.onNote, replace: options.replace });
    } catch (err) {
      await takeBack().catch(() => undefined);
      throw err;
    }
    return result;
  });
}

function find(records: readonly ClientRecord[], options: ClientOpsOptions): ClientRecord {
  const record = records.find((r) => r.name === options.name);
  if (!record) throw new KeyFileError('CLIENT_UNKNOWN', `no client named ${options.name} in ${options.clientsFile} (see manage-key list)`);
  return record;
}

function line(time: Date, event: Parameters<typeof clientAction>[0], record: ClientRecord, digest: string, detail?: string): HistoryEntry {
  return { time, action: clientAction(event, record.name, detail), key: fingerprintOfDigest(digest) };
}
