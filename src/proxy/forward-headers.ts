import type { IncomingHttpHeaders } from 'node:http';

/** Header values as Node and undici hand them over. */
export type HeaderMap = Record<string, string | string[] | undefined>;

// RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones proxies still see in the wild.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

// The key must never reach the backend, whichever way the client presented it.
const CREDENTIALS = new Set(['x-api-key', 'authorization']);

// Set by the forwarder itself: host names the upstream; expect was already answered by Node
// (100-continue) and undici refuses to send it.
const REPLACED = new Set(['host', 'expect', 'x-request-id', 'x-forwarded-proto', 'x-forwarded-host']);

/** Lower-cased names listed in the Connection header(s), which are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : value ?? '';
  return new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/** Copies `headers` without hop-by-hop fields (fixed list, those named in Connection, pseudo-headers) or `extra` names. */
export function withoutHopByHop(headers: HeaderMap, extra: ReadonlySet<string> = new Set()): Record<string, string | string[]> {
  const named = connectionTokens(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`) describe that hop's request line, not the message.
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || named.has(name) || extra.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** What the forwarder knows about the client's request when building the upstream headers. */
export interface ClientRequestInfo {
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
  protocol: string;
  host: string;
  requestId: string;
  upstreamHost: string;
}

const STRIPPED_UPSTREAM = new Set([...CREDENTIALS, ...REPLACED]);

/** Headers sent to the upstream: the client's minus credentials and hop-by-hop, plus X-Forwarded-* and X-Request-Id. */
export function upstreamRequestHeaders(info: ClientRequestInfo): Record<string, string | string[]> {
  const out = withoutHopByHop(info.headers, STRIPPED_UPSTREAM);
  out['host'] = info.upstreamHost;
  const prior = info.headers['x-forwarded-for'];
  const chain = [Array.isArray(prior) ? prior.join(', ') : prior, info.remoteAddress].filter(Boolean);
  if (chain.length > 0) out['x-forwarded-for'] = chain.join(', ');
  out['x-forwarded-proto'] = info.protocol;
  if (info.host) out['x-forwarded-host'] = info.host;
  out['x-request-id'] = info.requestId;
  return out;
}

// Koa insists on a single value for these two.
const SINGLE_VALUE = new Set(['content-type', 'content-length']);

/** Headers returned to the client: the upstream's minus hop-by-hop; single-valued fields keep their first value. */
export function clientResponseHeaders(headers: HeaderMap): Record<string, string | string[]> {
  const out = withoutHopByHop(headers);
  for (const name of SINGLE_VALUE) {
    const value = out[name];
    if (Array.isArray(value)) out[name] = value[0] ?? '';
  }
  return out;
}
