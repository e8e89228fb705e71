import { formatDuration, parseDuration } from '../core/duration.js';
import type { TlsFiles } from './tls/cert-files.js';

/** A TCP port, 0-65535 (0: any free port). */
export function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new RangeError(`"${value}" is not a port number (0-65535)`);
  return port;
}

/** A whole number from 1 to 1,000,000 (a count of connections and the like). */
export function parseCount(value: string): number {
  const count = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(count >= 1 && count <= 1_000_000)) throw new RangeError(`"${value}" is not a whole number from 1 to 1000000`);
  return count;
}

/** Any text but blanks. */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new RangeError('must not be empty');
  return value;
}

/** An http:// or https:// URL. */
export function parseHttpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`"${value}" is not an http(s) URL`);
  return url;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new RangeError(`"${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** A duration longer than 0. */
export function positiveDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms <= 0) throw new RangeError(`"${value}" must be longer than 0`);
  return ms;
}

/** true/false, 1/0, yes/no, on/off, in any case. */
export function parseBoolean(value: string): boolean {
  const normal = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normal)) return true;
  if (['false', '0', 'no', 'off'].includes(normal)) return false;
  throw new RangeError(`"${value}" is not true or false`);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Parses a size such as `1048576`, `512k`, `100mb` or `1g` (binary units) into bytes; throws on anything else. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)$/i.exec(text.trim());
  const factor = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) throw new RangeError(`invalid size "${text}" (use e.g. 1048576, 512k, 100mb, 1g)`);
  const bytes = Math.floor(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`size "${text}" is out of range`);
  return bytes;
}

/** The TLS files: certificate and key both or neither (one alone is a mistake, not plain HTTP), a client CA only with them. */
export function tlsFiles(cert: string, key: string, ca: string): TlsFiles | undefined {
  if (!cert && !key) {
    if (ca) throw new RangeError('--tls-ca / QWEN_TLS_CA needs --tls-cert and --tls-key (client certificates are a TLS feature)');
    return undefined;
  }
  if (!cert || !key) throw new RangeError(`--tls-cert and --tls-key go together (only ${cert ? '--tls-cert / QWEN_TLS_CERT' : '--tls-key / QWEN_TLS_KEY'} is set)`);
  return { cert, key, ...(ca ? { ca } : {}) };
}

/** `ms` itself, unless it is longer than `limit` (another setting, named `name`). */
export function atMost(ms: number, limit: number, name: string): number {
  if (ms > limit) throw new RangeError(`${formatDuration(ms)} is longer than ${name} (${formatDuration(limit)})`);
  return ms;
}
