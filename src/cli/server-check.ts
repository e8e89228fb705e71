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
  /** What to try when the server could not be reached for a reason this side can help with (a CA, a client certificate). */
  hint?: string;
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

/**
 * Presents each key to the server's health route and reports the answers, by fingerprint only.
 * `clientCertificate`: whether the fetch presents one (--cert), which the hint for a failed handshake depends on.
 */
export async function probeKeys(options: {
  base: URL; probes: readonly KeyProbe[]; fetch?: typeof fetch; timeoutMs?: number; clientCertificate?: boolean;
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
      const https = url.protocol === 'https:';
      results.push({ ...base, outcome: 'unreachable', ...reachError(err, https, options.clientCertificate ?? false), ok: false });
    }
  }
  return results;
}

/** The TLS material `tlsFetch` connects with (PEM): a CA to trust instead of the system's, a client certificate and its key. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** A fetch that connects with `tls` (undici's Agent `connect` options); `close` releases its connections. */
export async function tlsFetch(tls: TlsMaterial): Promise<{ fetch: typeof fetch; close: () => Promise<void> }> {
  // Loaded only here: undici takes longer to load than most commands take to run.
  const { Agent, fetch: undiciFetch } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key } });
  const custom = (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher });
  return { fetch: custom as unknown as typeof fetch, close: () => dispatcher.close() };
}

// Connections a server closes during the TLS handshake: how a server that requires a client certificate
// refuses one without (TLS 1.3: "other side closed"; TLS 1.2: a handshake-failure alert or a reset).
const HANDSHAKE_REFUSED = /^(UND_ERR_SOCKET|ECONNRESET|ERR_SSL_.*ALERT.*)$/;

function reachError(err: unknown, https: boolean, clientCertificate: boolean): { detail: string; hint?: string } {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return { detail: 'no answer in time' };
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  if (detail === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') return { detail, hint: '--cert-key is not the private key of the --cert certificate' };
  if (https && HANDSHAKE_REFUSED.test(detail)) {
    return { detail, hint: clientCertificate ? 'the server may not accept this client certificate (--cert)'
      : 'the server may require a client certificate: give one with --cert FILE --cert-key FILE' };
  }
  // Certificate errors (SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …) usually mean a private CA.
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(detail) ? { detail, hint: 'give the server\'s CA with --ca FILE' } : { detail };
}
