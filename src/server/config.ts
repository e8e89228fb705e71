import { CommandLineError, parseCommandLine } from '../core/command-line.js';
import { parseDuration } from '../core/duration.js';
import { atMost, nonEmpty, oneOf, parseBoolean, parseByteSize, parseCount, parseHttpUrl, parsePort, positiveDuration, tlsFiles } from './config-values.js';
import { parseRate } from './rate.js';
import type { TlsFiles } from './tls/cert-files.js';
import type { Rate } from './rate.js';
import { parseWorkers } from './workers.js';

/** Log levels the server accepts (winston's npm levels). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
/** One of the accepted log levels. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The server's validated settings. */
export interface Config {
  port: number;
  host: string;
  keyFile: string;
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

/** A bad flag or environment value; the entry point prints the message and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

// flag name → [environment variable, default, argument and note for --help]; flags win over env, env over defaults.
const SETTINGS = {
  port: ['PORT', '8000', 'N', '0 = any free port'],
  host: ['HOST', '127.0.0.1', 'H'],
  'key-file': ['QWEN_API_KEY_FILE', 'api/.api_key', 'F'],
  grace: ['QWEN_KEY_GRACE', '0', 'DURATION', 'e.g. 30s, 10m, 24h'],
  'max-grace': ['QWEN_MAX_GRACE', '7d', 'DURATION', 'longest window honoured'],
  upstream: ['QWEN_UPSTREAM_URL', '', 'URL'],
  'log-level': ['LOG_LEVEL', 'info', 'L', LOG_LEVELS.join('|')],
  'watch-mode': ['QWEN_WATCH_MODE', 'events', 'events|poll'],
  'max-key-age': ['QWEN_MAX_KEY_AGE', 'none', 'DURATION', 'e.g. 90d'],
  'upstream-timeout': ['QWEN_UPSTREAM_TIMEOUT', '10m', 'DURATION'],
  'max-body': ['QWEN_MAX_BODY', '100mb', 'SIZE', 'bytes or k/m/g suffix'],
  'drain-timeout': ['QWEN_DRAIN_TIMEOUT', '30s', 'DURATION'],
  'ready-requires-upstream': ['QWEN_READY_REQUIRES_UPSTREAM', 'false', ''],
  workers: ['QWEN_WORKERS', '1', 'N|auto', 'auto = one per core'],
  'auth-fail-limit': ['QWEN_AUTH_FAIL_LIMIT', '300/1m', 'N/DURATION', 'off = no throttling'],
  'max-connections': ['QWEN_MAX_CONNECTIONS', '1024', 'N', 'lowered to fit the open-file limit'],
  'max-connections-per-ip': ['QWEN_MAX_CONNECTIONS_PER_IP', '64', 'N|off', 'IPv6: per /64'],
  'header-timeout': ['QWEN_HEADER_TIMEOUT', '10s', 'DURATION'],
  'write-timeout': ['QWEN_WRITE_TIMEOUT', '60s', 'DURATION', 'client reading nothing of an answer'],
  'tls-cert': ['QWEN_TLS_CERT', '', 'FILE', 'PEM chain; with --tls-key: HTTPS, HTTP/2'],
  'tls-key': ['QWEN_TLS_KEY', '', 'FILE', 'its PEM private key'],
  'tls-ca': ['QWEN_TLS_CA', '', 'FILE', 'require client certificates from this CA'],
} as const satisfies Record<string, readonly [env: string, fallback: string, arg: string, note?: string]>;

type Name = keyof typeof SETTINGS;

/** What `--help` prints: one line per setting, from the same table the parser reads. */
export const USAGE = `Usage: qwen-key-daemon [options]

${Object.entries(SETTINGS).map(([name, [variable, fallback, arg, note]]) => {
  const shown = [fallback === '' ? 'none' : fallback, note].filter(Boolean).join('; ');
  return `  ${`--${name} ${arg}`.padEnd(31)}${variable.padEnd(30)}(${shown})`;
}).join('\n')}
  ${'-h, --help'.padEnd(31)}this text
  ${'--version'.padEnd(31)}the version

Key sources: the key file, else QWEN_API_KEY, else (NODE_ENV=development) a fixed development key
(named in the README; manage-key show prints it), else a new key is generated into the key file.

Exit status: 0 after SIGTERM/SIGINT; 1 when it cannot start (port in use, a first-run key it cannot
write); 2 for bad configuration (a flag, an environment value, an invalid QWEN_API_KEY).`;

/** Parses argv (without node and script) and env into a validated Config, or what else was asked; throws ConfigError. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config | 'help' | 'version' {
  const options = Object.fromEntries(
    Object.keys(SETTINGS).map((name) => [name, { type: name === 'ready-requires-upstream' ? 'boolean' : 'string' }]),
  ) as Record<Name, { type: 'string' | 'boolean' }>;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseCommandLine(argv, { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } }, false));
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    throw new ConfigError(`${err.message} (see --help)`);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const get = (name: Name): string => {
    const flag = values[name];
    if (flag !== undefined) return String(flag);
    const [variable, fallback] = SETTINGS[name];
    const fromEnv = env[variable];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : fallback;
  };
  const maxKeyAge = get('max-key-age');
  const authFailLimit = get('auth-fail-limit');
  const upstream = get('upstream');
  const maxGraceMs = check('max-grace', get('max-grace'), parseDuration);
  const perIp = get('max-connections-per-ip');
  return {
    port: check('port', get('port'), parsePort),
    host: check('host', get('host'), nonEmpty),
    keyFile: check('key-file', get('key-file'), nonEmpty),
    graceMs: check('grace', get('grace'), (v) => atMost(parseDuration(v), maxGraceMs, '--max-grace')),
    maxGraceMs,
    upstream: upstream ? check('upstream', upstream, parseHttpUrl) : undefined,
    logLevel: check('log-level', get('log-level'), (v) => oneOf(v, LOG_LEVELS)),
    watchMode: check('watch-mode', get('watch-mode'), (v) => oneOf(v, ['events', 'poll'] as const)),
    maxKeyAgeMs: maxKeyAge === 'none' ? undefined : check('max-key-age', maxKeyAge, positiveDuration),
    upstreamTimeoutMs: check('upstream-timeout', get('upstream-timeout'), positiveDuration),
    maxBodyBytes: check('max-body', get('max-body'), parseByteSize),
    drainTimeoutMs: check('drain-timeout', get('drain-timeout'), parseDuration),
    readyRequiresUpstream: check('ready-requires-upstream', get('ready-requires-upstream'), parseBoolean),
    workers: check('workers', get('workers'), (v) => parseWorkers(v)),
    authFailLimit: authFailLimit === 'off' ? undefined : check('auth-fail-limit', authFailLimit, parseRate),
    maxConnections: check('max-connections', get('max-connections'), parseCount),
    maxConnectionsPerIp: perIp === 'off' ? undefined : check('max-connections-per-ip', perIp, parseCount),
    headerTimeoutMs: check('header-timeout', get('header-timeout'), positiveDuration),
    writeTimeoutMs: check('write-timeout', get('write-timeout'), positiveDuration),
    tls: orConfigError(() => tlsFiles(get('tls-cert'), get('tls-key'), get('tls-ca'))),
    apiKey: env.QWEN_API_KEY || undefined,
    development: env.NODE_ENV === 'development',
  };
}

// A rule across settings (both TLS files or neither), said as it is.
function orConfigError<T>(make: () => T): T {
  try { return make(); } catch (err) { throw new ConfigError((err as Error).message); }
}

function check<T>(name: Name, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    const source = `--${name} / ${SETTINGS[name][0]}`;
    throw new ConfigError(`invalid ${source}: ${(err as Error).message}`);
  }
}
