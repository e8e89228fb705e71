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
// (100-continue) and undici refuses to send it; X-Forwarded-For is the client's own list read apart.
const REPLACED = new Set(['host', 'expect', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/**
 * A header's name as CGI and WSGI servers see it: case aside, `_` and `-` are the same there
 * (`X-Api-Client` and `X_Api_Client` both become HTTP_X_API_CLIENT), so a header the forwarder sets or
 * strips is matched in every such spelling. Other underscored names pass: they are the client's own
 * either way (it could send the `-` spelling as well), and backends that keep the two apart (ASGI,
 * Node) may rely on them, which dropping every underscored name, as nginx does by default, would break.
 */
export function cgiName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/** Lower-cased names listed in the Connection header(s), which are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : value ?? '';
  return new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/**
 * Copies `headers` without hop-by-hop fields (fixed list, those named in Connection, pseudo-headers) or `extra`
 * names (given as `cgiName` gives them); the fixed list and `extra` are matched in any spelling `cgiName` equates.
 */
export function withoutHopByHop(headers: HeaderMap, extra: ReadonlySet<string> = new Set()): Record<string, string | string[]> {
  const named = connectionTokens(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`) describe that hop's request line, not the message.
    if (value === undefined || name.startsWith(':') || named.has(name)) continue;
    const cgi = name.replaceAll('_', '-');
    if (HOP_BY_HOP.has(cgi) || extra.has(cgi)) continue;
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
  /** The header naming the authenticated client to the backend (lower case; X-Api-Client by default) and its value. */
  apiClient?: { header: string; name: string | undefined };
}

/** The header that tells the backend which client's key authenticated a request, unless configured otherwise. */
export const DEFAULT_CLIENT_HEADER = 'x-api-client';

const STRIPPED_UPSTREAM = new Set([...CREDENTIALS, ...REPLACED]);

/**
 * Headers sent to the upstream: the client's minus credentials and hop-by-hop, plus X-Forwarded-* and X-Request-Id,
 * and the authenticated client's name in `apiClient.header`. A header of that name sent by the client is dropped
 * whatever its case and whether it spells `-` as `_`, so no client can pass for another; so are the client's
 * spellings of every other header stripped or set here.
 */
export function upstreamRequestHeaders(info: ClientRequestInfo): Record<string, string | string[]> {
  const header = info.apiClient?.header;
  const out = withoutHopByHop(info.headers, info.apiClient ? new Set([...STRIPPED_UPSTREAM, cgiName(info.apiClient.header)]) : STRIPPED_UPSTREAM);
  out['host'] = info.upstreamHost;
  const prior = info.headers['x-forwarded-for'];
  const chain = [Array.isArray(prior) ? prior.join(', ') : prior, info.remoteAddress].filter(Boolean);
  if (chain.length > 0) out['x-forwarded-for'] = chain.join(', ');
  out['x-forwarded-proto'] = info.protocol;
  if (info.host) out['x-forwarded-host'] = info.host;
  out['x-request-id'] = info.requestId;
  if (header !== undefined && info.apiClient!.name !== undefined) out[header] = info.apiClient!.name;
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

/**
 * Whether the forwarder itself sets, strips or relies on a header (hop-by-hop fields, the credentials, the
 * headers it replaces, the single-valued ones), in any spelling `cgiName` equates: naming the client in one would break it.
 */
export function forwarderOwns(name: string): boolean {
  const cgi = cgiName(name);
  return HOP_BY_HOP.has(cgi) || STRIPPED_UPSTREAM.has(cgi) || SINGLE_VALUE.has(cgi);
}
