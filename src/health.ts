import { keyAgeMs } from './key-age.js';
import type { KeyDescription } from './key-store.js';
import type { UpstreamInfo } from './upstream-monitor.js';

/** The last key reload as health shows it (the reloader's ReloadEvent fits). */
export interface ReloadSummary {
  outcome: string;
  trigger: string;
  reason?: string;
  fingerprint?: string;
  at: Date;
}

/** What the running server says about itself, asked on every /readyz and /api/v1/health. */
export interface ServerStatus {
  /** False from the moment shutdown begins. */
  accepting: boolean;
  lastReload?: ReloadSummary;
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
    body.lastReload = { outcome: reload.outcome, trigger: reload.trigger, reason: reload.reason, fingerprint: reload.fingerprint, at: reload.at.toISOString() };
  }
  body.upstream = input.upstream;
  return body;
}

/** Why the server is not ready, or undefined when it is. */
export function notReadyReason(loaded: boolean, status: ServerStatus, upstream?: UpstreamInfo): string | undefined {
  if (!status.accepting) return 'Shutting down';
  if (!loaded) return 'No valid API key loaded';
  if (upstream && upstream.configured && upstream.reachable === false) return 'Upstream unreachable';
  return undefined;
}
