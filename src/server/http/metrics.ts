import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DEFAULT_CLIENT } from '../../core/client-name.js';
import { keyAgeMs } from '../reload/key-age.js';
import type { KeyMatch, KeyStore } from '../reload/key-store.js';
import type { ConnectionGuard } from '../connection-limits.js';
import { registerClientMetrics } from './client-metrics.js';

/** Route labels: the daemon's own routes, everything forwarded, and everything else. Fixed, so cardinality is too. */
export const ROUTE_LABELS = ['/livez', '/readyz', '/api/v1/health', '/metrics', '/api/v1/*', 'other'] as const;
/** Why an authentication failed. */
export type AuthFailure = 'missing' | 'invalid' | 'malformed' | 'throttled';

/** The counters the app updates and the registry `/metrics` exposes. */
export interface Metrics {
  readonly registry: Registry;
  /** Counts a finished request by route label and status code; allocation-free. */
  request(route: string, status: number): void;
  authFailure(reason: AuthFailure): void;
  /** Counts an authenticated request by client, and a previous key used inside its window. */
  authenticated(match: KeyMatch): void;
  /** Counts a key file re-read: every one as a check, those that loaded or rejected by result. */
  keyReload(outcome: 'loaded' | 'unchanged' | 'rejected'): void;
  /** Counts a history read that failed (not a regular file, stalled, unreadable). */
  historyReadFailure(): void;
  /** Counts a clients file re-read, those that loaded or rejected by result. */
  clientsReload(outcome: 'loaded' | 'unchanged' | 'rejected'): void;
}

/** Options for createMetrics. */
export interface MetricsOptions {
  store: KeyStore;
  maxKeyAgeMs?: number;
  clock?: () => number;
  /** Process metrics (CPU, memory, event loop); off in tests that build many apps. */
  processMetrics?: boolean;
  /** How many of the key files and their directories others than their owner can write. */
  writableByOthers?: () => number;
  /** The connection guard, once the server exists. */
  connections?: () => ConnectionGuard | undefined;
}

/** A fresh registry with the daemon's metrics (never prom-client's global one, so apps do not share counts). */
export function createMetrics(options: MetricsOptions): Metrics {
  const { store } = options;
  const clock = options.clock ?? Date.now;
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  // Plain arrays on the hot path; prom-client objects are filled only when scraped.
  const counts = new Map<string, Float64Array>(ROUTE_LABELS.map((route) => [route, new Float64Array(600)]));
  const other = counts.get('other')!;
  new Counter({
    name: 'qwen_http_requests_total', help: 'HTTP requests answered, by route and status code',
    labelNames: ['route', 'code'], registers: [registry],
    collect() {
      this.reset();
      for (const [route, byCode] of counts) {
        for (let code = 100; code < 600; code++) if (byCode[code]! > 0) this.inc({ route, code }, byCode[code]);
      }
    },
  });
  const authFailures = new Counter({
    name: 'qwen_auth_failures_total', help: 'Requests refused for a missing, wrong or malformed key, or throttled',
    labelNames: ['reason'], registers: [registry],
  });
  const failures = { missing: authFailures.labels('missing'), invalid: authFailures.labels('invalid'),
    malformed: authFailures.labels('malformed'), throttled: authFailures.labels('throttled') };
  const previousUsed = new Counter({
    name: 'qwen_auth_previous_key_total', help: 'Requests authenticated with the static key\'s previous key inside its grace window',
    registers: [registry],
  });
  // A re-read that finds the key unchanged (the backstop's, every few seconds) is no reload: it only
  // counts as a check, so the reload counts stay readable and the check rate shows the backstop is alive.
  const reloads = new Counter({
    name: 'qwen_key_reloads_total',
    help: 'Key file re-reads that loaded a key or found the file unusable (rejected: every such re-read, so it rises while the file stays bad)',
    labelNames: ['result'], registers: [registry],
  });
  const byResult = { loaded: reloads.labels('loaded'), rejected: reloads.labels('rejected') };
  for (const counter of Object.values(byResult)) counter.inc(0);
  const checks = new Counter({
    name: 'qwen_key_file_checks_total', help: 'Key file re-reads of any result (watch events, SIGHUP, the backstop every 2 s)',
    registers: [registry],
  });

  const historyFailures = new Counter({
    name: 'qwen_history_read_failures_total', help: 'History reads that failed (not a regular file, no answer in time, unreadable)',
    registers: [registry],
  });

  const keyGauge = (name: string, help: string, value: (now: number) => number | undefined): void => {
    new Gauge({ name, help, registers: [registry], collect() {
      const v = value(clock());
      if (v === undefined) this.reset(); else this.set(v);
    } });
  };
  keyGauge('qwen_key_loaded', '1 when a key is in force', () => (store.loaded ? 1 : 0));
  keyGauge('qwen_key_seconds_since_load', 'Seconds since the key in force was loaded', (now) => {
    const d = store.describe();
    return d && (now - d.loadedAt.getTime()) / 1000;
  });
  keyGauge('qwen_key_age_seconds', 'Age of the key in force (from the history, else since loaded)', (now) => {
    const d = store.describe();
    return d && keyAgeMs(d, now) / 1000;
  });
  if (options.maxKeyAgeMs !== undefined) {
    const max = options.maxKeyAgeMs;
    keyGauge('qwen_key_max_age_exceeded', '1 when the key is older than --max-key-age', (now) => {
      const d = store.describe();
      return d && (keyAgeMs(d, now) > max ? 1 : 0);
    });
  }
  keyGauge('qwen_previous_key_active', '1 while the previous key is inside its grace window', () => (store.describe()?.previous?.active ? 1 : 0));
  keyGauge('qwen_previous_key_valid_until_seconds', 'Unix time the previous key stops being valid (0 if none)', () => {
    const previous = store.describe()?.previous;
    return previous?.active ? previous.until.getTime() / 1000 : 0;
  });

  const writableByOthers = options.writableByOthers;
  if (writableByOthers) {
    keyGauge('qwen_key_files_writable_by_others', 'Key files, histories and their directories that others than their owner can write, or that another user owns', () => writableByOthers());
  }
  if (options.connections) registerConnectionMetrics(registry, options.connections);

  const clients = registerClientMetrics(registry, store, clock);
  return {
    registry,
    request(route, status) {
      const byCode = counts.get(route) ?? other;
      byCode[status >= 100 && status < 600 ? status : 0]! += 1;
    },
    authFailure: (reason) => failures[reason].inc(),
    authenticated(match) {
      clients.request(match.client);
      if (match.key === 'current') return;
      if (match.client === DEFAULT_CLIENT) previousUsed.inc();
      else clients.previousKeyUsed();
    },
    keyReload(outcome) {
      checks.inc();
      if (outcome !== 'unchanged') byResult[outcome].inc();
    },
    historyReadFailure: () => historyFailures.inc(),
    clientsReload: (outcome) => clients.reload(outcome),
  };
}

function registerConnectionMetrics(registry: Registry, guard: () => ConnectionGuard | undefined): void {
  new Gauge({ name: 'qwen_connections_open', help: 'Client connections open now', registers: [registry], collect() {
    this.set(guard()?.open ?? 0);
  } });
  new Counter({
    name: 'qwen_connections_refused_total', help: 'New connections closed at once: past --max-connections-per-ip (per_ip), or past --max-connections with none to evict (total)',
    labelNames: ['limit'], registers: [registry],
    collect() {
      this.reset();
      for (const limit of ['total', 'per_ip'] as const) this.inc({ limit }, guard()?.counts[limit] ?? 0);
    },
  });
  new Counter({
    name: 'qwen_connections_evicted_total', help: 'Connections that never carried a valid key, closed to make room for a new one at --max-connections',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(guard()?.counts.evicted ?? 0);
    },
  });
}
