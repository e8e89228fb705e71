import { createHash, randomBytes } from 'node:crypto';
import { KeyFileError } from './errors.js';

/** Prefix of generated keys, so secret scanners can recognise a leaked one. */
export const KEY_PREFIX = 'qwk_';
/** Largest key file accepted; anything bigger is not a key. */
export const MAX_KEY_FILE_BYTES = 4096;
/** Longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 1024;
/** Keys shorter than this load, but a warning says they are weak. */
export const WEAK_KEY_LENGTH = 16;

/**
 * The fixed key a server started with NODE_ENV=development uses when there is no key file and no
 * QWEN_API_KEY. It is public by design (it is in the source and the README), so it must never guard
 * anything real; `manage-key show` names it in that situation.
 */
export const DEVELOPMENT_KEY = 'qwk_development_only_insecure_key_do_not_use';

// Visible ASCII only: a key must survive being sent as an HTTP header value.
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/** A new key: prefix + 256 bits from the OS's secure random source, base64url. */
export function generateKey(random: (size: number) => Buffer = randomBytes): string {
  return KEY_PREFIX + random(32).toString('base64url');
}

/** Decodes key-file bytes as people write them: UTF-8 (BOM or not), UTF-16 LE/BE with BOM. */
export function decodeKeyFile(bytes: Buffer): string {
  if (bytes.length > MAX_KEY_FILE_BYTES) {
    throw new KeyFileError('KEY_TOO_LARGE', `key file is ${bytes.length} bytes; at most ${MAX_KEY_FILE_BYTES} are accepted`);
  }
  return decodeText(bytes);
}

/** Decodes text as editors and shells save it: UTF-8 (BOM or not), UTF-16 LE/BE with BOM; KEY_BAD_ENCODING otherwise. */
export function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return decodeStrict('utf-16le', bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return decodeStrict('utf-16be', bytes.subarray(2));
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return decodeStrict('utf-8', bytes.subarray(3));
  return decodeStrict('utf-8', bytes);
}

/** Validates decoded key-file text and returns the key it holds. */
export function parseKey(text: string): string {
  // Trailing newlines (LF or CRLF) and surrounding blanks are how editors and `echo` save a line.
  const key = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (key.length === 0) throw new KeyFileError('KEY_EMPTY', 'key file is empty');
  if (key.length > MAX_KEY_LENGTH) {
    throw new KeyFileError('KEY_TOO_LARGE', `key is ${key.length} characters; at most ${MAX_KEY_LENGTH} are accepted`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new KeyFileError('KEY_INVALID_CHARS', 'key contains whitespace, control or non-ASCII characters');
  }
  return key;
}

/** Reads a key from raw key-file bytes, or throws a typed KeyFileError. */
export function keyFromBytes(bytes: Buffer): string {
  return parseKey(decodeKeyFile(bytes));
}

/** A short, non-reversible name for a key, safe to log: `sha256:` + 12 hex digits. */
export function fingerprint(key: string): string {
  return fingerprintOfDigest(digestOf(key));
}

/** A key's SHA-256 digest in hex: what the clients file stores instead of the key. */
export function digestOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The fingerprint of the key whose hex SHA-256 digest is `digest` (its first 12 digits). */
export function fingerprintOfDigest(digest: string): string {
  return 'sha256:' + digest.slice(0, 12);
}

/**
 * The masked form used in the history view: `abc123...xyz789` for keys of 24 characters or more (every
 * generated key). Shorter keys show fewer characters, at most a quarter of the key at each end, so at
 * least half of any key stays hidden; keys of 12 characters or fewer are all stars.
 */
export function maskKey(key: string): string {
  if (key.length <= 12) return '*'.repeat(key.length);
  const shown = Math.min(6, Math.floor(key.length / 4));
  return `${key.slice(0, shown)}...${key.slice(-shown)}`;
}

function decodeStrict(encoding: 'utf-8' | 'utf-16le' | 'utf-16be', bytes: Buffer): string {
  // Checked before any byte swap: Buffer.swap16 throws a plain RangeError on odd lengths.
  if (encoding !== 'utf-8' && bytes.length % 2 !== 0) {
    throw new KeyFileError('KEY_BAD_ENCODING', 'key file is UTF-16 with an odd number of bytes');
  }
  try {
    // Node's TextDecoder has no UTF-16 BE, so big-endian text is swapped to little-endian first.
    const input = encoding === 'utf-16be' ? swapBytes(bytes) : bytes;
    return new TextDecoder(encoding === 'utf-16be' ? 'utf-16le' : encoding, { fatal: true, ignoreBOM: true }).decode(input);
  } catch (err) {
    throw new KeyFileError('KEY_BAD_ENCODING', `key file is not valid ${encoding.toUpperCase()}`, { cause: err });
  }
}

function swapBytes(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  return copy.swap16();
}
