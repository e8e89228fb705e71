import type { IncomingMessage, RequestListener, ServerOptions, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import { guardConnections } from './connection-limits.js';
import type { ConnectionGuard, ConnectionLimits } from './connection-limits.js';
import { clientErrorHandler } from './http/http-errors.js';
import { holdContinue } from '../proxy/expect-continue.js';
import { createListener } from './tls/listener.js';
import type { Listener, ListeningServer, RequestHandler, TlsListenOptions } from './tls/listener.js';

/** How long a client may take, and how many connections it may hold. */
export interface HttpServerOptions {
  /** Longest wait for a request's headers (slow-header floods are cut after it). */
  headerTimeoutMs: number;
  /** Longest wait for a whole request, body included: forwarded uploads may take as long as the upstream may. */
  requestTimeoutMs: number;
  limits: ConnectionLimits;
  logger: Logger;
  /** Serve TLS (HTTP/2 and HTTP/1.1) with these; plain HTTP without. */
  tls?: TlsListenOptions;
}

/** The listening server and its connection guard. */
export interface HttpServer {
  listener: Listener;
  connections: ConnectionGuard;
}

/** The daemon's server (node:http, or TLS with HTTP/2 and HTTP/1.1), set up by `serverTimeouts` and `guardServer`. */
export function createHttpServer(handler: RequestHandler, options: HttpServerOptions): HttpServer {
  const listener = createListener(handler, options.tls, serverTimeouts(options));
  // A request held for `100 Continue` reaches the handler the server calls for any other request (on TLS
  // the one that clears the request's header deadline), not the bare app.
  return { listener, connections: guardServer(listener.server, listener.handle as RequestListener, options) };
}

/**
 * Timeouts for `http.createServer` or `https.createServer`: headers within seconds (Node waits 60 s and
 * looks only every 30 s), the whole request within the upstream's time (Node cuts at 300 s).
 */
export function serverTimeouts(options: Pick<HttpServerOptions, 'headerTimeoutMs' | 'requestTimeoutMs'>): ServerOptions {
  const { headerTimeoutMs } = options;
  return {
    headersTimeout: headerTimeoutMs,
    requestTimeout: Math.max(options.requestTimeoutMs, headerTimeoutMs), // Node refuses one shorter than the other
    // How often Node looks for connections past those timeouts: its 30 s would let a slow client keep a
    // connection up to 30 s longer than the header timeout says.
    connectionsCheckingInterval: Math.min(1000, Math.max(100, headerTimeoutMs / 4)),
  };
}

/**
 * Everything else an HTTP(S) server of the daemon's needs: the connection caps, unparsable requests
 * answered as JSON, and no `100 Continue` before the app has looked at the request: `checkContinue`
 * hands it to the app like any other, and only the forwarder, once the key is checked and the body is
 * wanted, sends the 100 (`sendHeldContinue`).
 */
export function guardServer(server: ListeningServer, handler: RequestListener, options: HttpServerOptions): ConnectionGuard {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    holdContinue(req);
    handler(req, res);
  });
  server.on('clientError', clientErrorHandler(options.logger));
  return guardConnections(server, { ...options.limits, logger: options.logger });
}
