import { clientNameProblem } from './client-name.js';
import { KeyFileError } from './errors.js';
import { decodeText } from './key.js';

/** The format version this code reads and writes; another version is refused, never guessed at. */
export const CLIENTS_FILE_VERSION = 1;
/** Largest clients file read: about 50,000 named keys. */
export const MAX_CLIENTS_FILE_BYTES = 8 * 1024 * 1024;

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

const DIGEST = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?Z$/;

/** Records parsed from the lines of an earlier read (keyed by the line), so an unchanged line is not parsed again. */
export interface ParsedLines {
  lines?: Map<string, ClientRecord>;
}

/**
 * Reads clients-file bytes (JSON, UTF-8 or UTF-16 with a BOM): `{"version":1,"clients":[...]}`. All or
 * nothing: one bad entry, a duplicate name or digest, or another version makes the whole file
 * CLIENTS_INVALID, since a half-valid file is most likely a half-finished edit. With `seen` (a reloader's),
 * a file in the layout formatClients writes reuses the records of lines it parsed before: reloading 10,000
 * clients after one changed then parses one line, not 10,000.
 */
export function parseClients(bytes: Buffer, seen?: ParsedLines): ClientRecord[] {
  if (bytes.length > MAX_CLIENTS_FILE_BYTES) {
    throw new KeyFileError('CLIENTS_TOO_LARGE', `clients file is ${bytes.length} bytes; at most ${MAX_CLIENTS_FILE_BYTES} are read`);
  }
  let text: string;
  try {
    text = decodeText(bytes);
  } catch {
    throw invalid('not valid UTF-8 or UTF-16 text');
  }
  const lines = seen && byLine(text, seen.lines ?? new Map());
  if (lines) seen!.lines = lines.parsed;
  return unique(lines?.records ?? parseDocument(text));
}

// The entries of a file in the one-client-per-line layout, each line parsed once; undefined when any line is
// not JSON on its own (another layout, or a fault), which the whole-document parse then judges. Entries are
// checked in order only once every line is JSON, so a fault is reported as the whole-document parse would.
function byLine(text: string, before: Map<string, ClientRecord>): { records: ClientRecord[]; parsed: Map<string, ClientRecord> } | undefined {
  const end = text.lastIndexOf(TAIL);
  // (A missing tail leaves text after `end + TAIL.length` too.)
  if (!text.startsWith(HEAD) || text.slice(end + TAIL.length).trim() !== '') return undefined;
  const lines = text.slice(HEAD.length, end).split(',\n');
  const known = lines.map((line) => before.get(line));
  const entries: unknown[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (known[index] !== undefined) continue;
    try {
      entries[index] = JSON.parse(lines[index]!);
    } catch {
      return undefined;
    }
  }
  const parsed = new Map<string, ClientRecord>();
  const records = lines.map((line, index) => {
    const record = known[index] ?? parseRecord(entries[index], `client ${index + 1}`);
    parsed.set(line, record);
    return record;
  });
  return { records, parsed };
}

function parseDocument(text: string): ClientRecord[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // Not V8's message: it quotes the text around the fault, which could be a key pasted in by mistake.
    throw invalid('not JSON');
  }
  if (!isObject(document)) throw invalid('not a JSON object');
  if (document.version !== CLIENTS_FILE_VERSION) {
    throw invalid(`version ${JSON.stringify(document.version)} is not ${CLIENTS_FILE_VERSION}, the version this program reads`);
  }
  if (!Array.isArray(document.clients)) throw invalid('"clients" is not a list');
  return document.clients.map((entry: unknown, index: number) => parseRecord(entry, `client ${index + 1}`));
}

// Names and key digests (current and previous) appear once each.
function unique(records: ClientRecord[]): ClientRecord[] {
  const names = new Set<string>();
  const digests = new Set<string>();
  for (const record of records) {
    if (names.has(record.name)) throw invalid(`the name ${record.name} appears twice`);
    names.add(record.name);
    for (const digest of [record.sha256, record.previous?.sha256]) {
      if (digest === undefined) continue;
      if (digests.has(digest)) throw invalid(`${record.name} shares a key digest with another entry`);
      digests.add(digest);
    }
  }
  return records;
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

const HEAD = `{"version":${CLIENTS_FILE_VERSION},"clients":[\n`;
const TAIL = '\n]}';

/** The file's bytes for `records`: one client per line, so a diff shows one line per change. */
export function formatClients(records: readonly ClientRecord[]): Buffer {
  const lines = records.map((r) => JSON.stringify({
    name: r.name, sha256: r.sha256, created: r.created.toISOString(), expires: r.expires?.toISOString(),
    previous: r.previous && { sha256: r.previous.sha256, rotated: r.previous.rotated.toISOString(), until: r.previous.until?.toISOString() },
  }));
  return Buffer.from(lines.length ? `${HEAD}${lines.join(',\n')}${TAIL}\n` : `{"version":${CLIENTS_FILE_VERSION},"clients":[]}\n`);
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
