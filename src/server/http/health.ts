import { keyAgeMs } from '../reload/key-age.js';
import type { KeyDescription } from '../reload/key-store.js';
import type { KeyStore } from '../reload/key-store.js';
import type { UpstreamInfo, UpstreamMonitor } from '../../proxy/upstream-monitor.js';
import type { TrustFinding } from '../../core/file-trust.js';
import { certificateJson } from '../tls/cert-summary.js';
import type { CertificateSummary } from '../tls/cert-reloader.js';

/** The last key reload as health shows it (the reloader's `lastReload` fits). */
export interface ReloadSummary {
  outcome: string;
  trigger: string;
  reason?: string;
  fingerprint?: string;
  at: Date;
  /** When the key file was last re-read, whatever that found. */
  checkedAt?: Date;
}

/** What the running server says about itself, asked on every /readyz and /api/v1/health. */
export interface ServerStatus {
  /** False from the moment shutdown begins. */
  accepting: boolean;
  lastReload?: ReloadSummary;
  /** Key files and directories others than their owner can write (TrustReport); the same array until it changes. */
  fileTrust?: readonly TrustFinding[];
  /** The certificate in force, when serving TLS; a new object whenever it changes. */
  tls?: CertificateSummary;
}

/** Everything the health answer is made of. */
export interface HealthInput {
  description: KeyDescription | undefined;
  now: number;
  startedAt: number;
  version: string;
  maxKeyAgeMs?: number;
  status: ServerStatus;
  upstream: UpstreamInfo;
}

/** The `/api/v1/health` body: describes the keys by fingerprint only, never by value. */
export function healthBody(input: HealthInput): Record<string, unknown> {
  const { description: d, now, status } = input;
  const body: Record<string, unknown> = {
    status: 'ok',
    version: input.version,
    uptimeSeconds: Math.round((now - input.startedAt) / 1000),
    accepting: status.accepting,
  };
  if (d) {
    const ageMs = keyAgeMs(d, now);
    body.key = {
      source: d.source,
      fingerprint: d.fingerprint,
      loadedAt: d.loadedAt.toISOString(),
      since: d.since?.toISOString(),
      ageSeconds: Math.round(ageMs / 1000),
      maxAgeSeconds: input.maxKeyAgeMs === undefined ? undefined : input.maxKeyAgeMs / 1000,
      maxAgeExceeded: input.maxKeyAgeMs === undefined ? undefined : ageMs > input.maxKeyAgeMs,
    };
    if (d.previous) {
      body.previousKey = { fingerprint: d.previous.fingerprint, until: d.previous.until.toISOString(), active: d.previous.active };
    }
  }
  const reload = status.lastReload;
  if (reload) {
    body.lastReload = {
      outcome: reload.outcome, trigger: reload.trigger, reason: reload.reason, fingerprint: reload.fingerprint,
      at: reload.at.toISOString(), checkedAt: reload.checkedAt?.toISOString(),
    };
  }
  if (status.fileTrust) body.fileTrust = { ok: status.fileTrust.length === 0, writableByOthers: status.fileTrust };
  if (status.tls) body.tls = certificateJson(status.tls, now);
  body.upstream = input.upstream;
  return body;
}

/** Why the server is not ready, or undefined when it is. */
export function notReadyReason(loaded: boolean, status: ServerStatus, upstream?: UpstreamInfo, now = Date.now()): string | undefined {
  if (!status.accepting) return 'Shutting down';
  if (!loaded) return 'No valid API key loaded';
  if (status.tls && status.tls.notAfter.getTime() <= now) return 'TLS certificate expired';
  if (upstream && upstream.configured && upstream.reachable === false) return 'Upstream unreachable';
  return undefined;
}

/** What createHealthCache needs. */
export interface HealthCacheOptions {
  store: KeyStore;
  status: () => ServerStatus;
  upstream: UpstreamMonitor;
  version: string;
  startedAt: number;
  clock: () => number;
  maxKeyAgeMs?: number;
}

/**
 * The health answer as a JSON string, rebuilt only when something in it may have changed: the second
 * (its times are whole seconds), the key set, the previous key's window closing, the last reload, the
 * upstream state, readiness or the certificate. Checking that costs a few comparisons per request; building costs far more.
 */
export function createHealthCache(options: HealthCacheOptions): { body(): string | Promise<string> } {
  const { store, clock } = options;
  let text = '';
  let validUntil = 0;
  let version = -1;
  let reload: ReloadSummary | undefined;
  let upstreamInfo: UpstreamInfo | undefined;
  let accepting = true;
  let trust: ServerStatus['fileTrust'];
  let tls: CertificateSummary | undefined;
  const build = (info: UpstreamInfo): string => {
    const now = clock();
    const status = options.status();
    if (now < validUntil && store.version === version && status.lastReload === reload && info === upstreamInfo
      && status.accepting === accepting && status.fileTrust === trust && status.tls === tls) return text;
    text = JSON.stringify(healthBody({ description: store.describe(), now, startedAt: options.startedAt, version: options.version,
      maxKeyAgeMs: options.maxKeyAgeMs, status, upstream: info }));
    // Good until the next whole second, or the moment the previous key's window closes if that is sooner.
    validUntil = Math.min(Math.floor(now / 1000) * 1000 + 1000, store.previousUntil ?? Infinity);
    version = store.version;
    reload = status.lastReload;
    upstreamInfo = info;
    accepting = status.accepting;
    trust = status.fileTrust;
    tls = status.tls;
    return text;
  };
  return {
    // Synchronous once the upstream has been probed: no promise on the hot path.
    body() {
      const info = options.upstream.peek();
      return info ? build(info) : options.upstream.info().then(build);
    },
  };
}
