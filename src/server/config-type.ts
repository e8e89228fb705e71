import type { Rate } from './rate.js';
import type { TlsFiles } from './tls/cert-files.js';

/** Log levels the server accepts (winston's npm levels). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
/** One of the accepted log levels. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The server's validated settings. */
export interface Config {
  port: number;
  host: string;
  keyFile: string;
  /** The named keys' file: `--clients-file`, else `.api_clients` beside the key file. */
  clientsFile: string;
  /** The header that names the authenticated client to the backend. */
  clientHeader: string;
  graceMs: number;
  /** Longest overlap window honoured, whatever the history asks; longer windows are cut to it. */
  maxGraceMs: number;
  upstream?: URL;
  logLevel: LogLevel;
  watchMode: 'events' | 'poll';
  /** Age after which the key should be rotated; undefined means no limit. */
  maxKeyAgeMs?: number;
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
  drainTimeoutMs: number;
  readyRequiresUpstream: boolean;
  /** Server processes; more than one runs a cluster primary that forks them (`auto` resolved to the core count). */
  workers: number;
  /** Failed-auth throttling per client address; undefined means off. */
  authFailLimit?: Rate;
  /** Most connections open at once (lowered to fit the open-file limit at start). */
  maxConnections: number;
  /** Most connections from one client address (IPv6: per /64); undefined means no such cap. */
  maxConnectionsPerIp?: number;
  /** Longest a client may take to send a request's headers. */
  headerTimeoutMs: number;
  /** Longest a forwarded answer may wait for a client that reads nothing of it. */
  writeTimeoutMs: number;
  /** Certificate, key and (for client certificates) CA files; undefined means plain HTTP. */
  tls?: TlsFiles;
  /** `QWEN_API_KEY`, the fallback when there is no key file. */
  apiKey?: string;
  /** `NODE_ENV=development`: allows the fixed development key. */
  development: boolean;
}
