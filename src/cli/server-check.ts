import { isIPv4 } from 'node:net';
import { fingerprint } from '../core/key.js';

/** One key to present to a running server, and whether it should be accepted. */
export interface KeyProbe {
  label: string;
  key: string;
  expect: 'accepted' | 'rejected';
}

/** What the server answered for one probe; `ok` when that is what was expected. */
export interface ProbeResult {
  label: string;
  fingerprint: string;
  expected: 'accepted' | 'rejected';
  outcome: 'accepted' | 'rejected' | 'unexpected' | 'unreachable';
  detail: string;
  ok: boolean;
}

/** Whether a URL names this machine (localhost, 127.0.0.0/8, ::1), where a key in clear text stays on the host. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host);
}

/** The health route every key must open. */
export const HEALTH_PATH = '/api/v1/health';

/** The health URL under a server's base URL, keeping any path prefix the base has. */
export function healthUrl(base: URL): URL {
  const url = new URL(base);
  url.pathname = url.pathname.replace(/\/+$/, '') + HEALTH_PATH;
  url.search = '';
  return url;
}

/** Presents each key to the server's health route and reports the answers, by fingerprint only. */
export async function probeKeys(options: {
  base: URL; probes: readonly KeyProbe[]; fetch?: typeof fetch; timeoutMs?: number;
}): Promise<ProbeResult[]> {
  const doFetch = options.fetch ?? fetch;
  const url = healthUrl(options.base);
  const results: ProbeResult[] = [];
  for (const probe of options.probes) {
    const base = { label: probe.label, fingerprint: fingerprint(probe.key), expected: probe.expect };
    try {
      // A redirect is reported, never followed: following it would hand the key to whatever origin it names.
      const response = await doFetch(url, {
        headers: { 'X-API-Key': probe.key },
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      await response.body?.cancel();
      const outcome = response.status === 200 ? 'accepted' : response.status === 401 ? 'rejected' : 'unexpected';
      const redirect = response.status >= 300 && response.status < 400 ? ', a redirect, not followed' : '';
      results.push({ ...base, outcome, detail: `HTTP ${response.status}${redirect}`, ok: outcome === probe.expect });
    } catch (err) {
      results.push({ ...base, outcome: 'unreachable', detail: reachError(err), ok: false });
    }
  }
  return results;
}

/** A fetch that trusts the certificates chaining to `ca` (PEM) instead of the system's; `close` releases its connections. */
export async function trustingFetch(ca: Buffer): Promise<{ fetch: typeof fetch; close: () => Promise<void> }> {
  // Loaded only here: undici takes longer to load than most commands take to run.
  const { Agent, fetch: undiciFetch } = await import('undici');
  const dispatcher = new Agent({ connect: { ca } });
  const trusting = (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher });
  return { fetch: trusting as unknown as typeof fetch, close: () => dispatcher.close() };
}

function reachError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  const reason = cause?.code ?? cause?.message ?? (err as Error).message;
  // Certificate errors (SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …) usually mean a private CA.
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(reason) ? `${reason}; give the server's CA with --ca FILE` : reason;
}
