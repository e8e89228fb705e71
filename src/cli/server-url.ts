import { isIP, isIPv6 } from 'node:net';
import { UsageError } from './usage-error.js';

/** The server `test` asks when neither --url nor the server's own PORT and HOST say otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** Where `test` asks for the server, and what chose it: `--url`, the server's PORT and HOST, or the default. */
export interface ServerUrl {
  url: URL;
  origin: 'flag' | 'env' | 'default';
}

/**
 * `--url`, else the address a server started with the same environment listens on: `http://HOST:PORT` from
 * the variables the server reads (an empty one counts as unset, as for the server), with its defaults
 * 127.0.0.1 and 8000. A HOST that listens on every address of a family (0.0.0.0, ::) is asked on that
 * family's loopback address. A PORT or HOST no server could be asked on is a usage error naming it.
 */
export function serverUrl(flag: URL | undefined, env: Readonly<Record<string, string | undefined>>): ServerUrl {
  if (flag !== undefined) return { url: flag, origin: 'flag' };
  const host = env.HOST || undefined;
  const port = env.PORT || undefined;
  if (host === undefined && port === undefined) return { url: new URL(DEFAULT_URL), origin: 'default' };
  const url = new URL(DEFAULT_URL);
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw new UsageError(`PORT "${port}" is not a port a server can be asked on (1-65535); give the server's URL with --url`);
    }
    url.port = port;
  }
  if (host !== undefined) {
    if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host)) {
      throw new UsageError(`HOST "${host}" is not a host name or address; give the server's URL with --url`);
    }
    url.hostname = isIPv6(host) ? `[${host}]` : host;
  }
  // A server listening on every address answers on loopback too, which keeps the key on this machine.
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return { url, origin: 'env' };
}
