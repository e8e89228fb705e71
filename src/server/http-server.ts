import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { Logger } from 'winston';
import { guardConnections } from './connection-limits.js';
import type { ConnectionGuard, ConnectionLimits } from './connection-limits.js';
import { clientErrorHandler } from './http/http-errors.js';
import { holdContinue } from '../proxy/expect-continue.js';

/** How long a client may take, and how many connections it may hold. */
export interface HttpServerOptions {
  /** Longest wait for a request's headers (slow-header floods are cut after it). */
  headerTimeoutMs: number;
  /** Longest wait for a whole request, body included: forwarded uploads may take as long as the upstream may. */
  requestTimeoutMs: number;
  limits: ConnectionLimits;
  logger: Logger;
}

/** The server and its connection guard. */
export interface HttpServer {
  server: Server;
  connections: ConnectionGuard;
}

/**
 * The daemon's node:http server: headers within seconds (Node waits 60 s, and checks only every 30 s),
 * connections capped, unparsable requests answered as JSON, and no `100 Continue` before the app has
 * looked at the request: `checkContinue` hands it to the app like any other, and only the forwarder,
 * once the key is checked and the body is wanted, sends the 100 (`sendHeldContinue`).
 */
export function createHttpServer(handler: RequestListener, options: HttpServerOptions): HttpServer {
  const { headerTimeoutMs, logger } = options;
  const server = createServer({
    headersTimeout: headerTimeoutMs,
    requestTimeout: Math.max(options.requestTimeoutMs, headerTimeoutMs),
    // How often Node looks for connections past those timeouts; its default of 30 s would let a slow
    // client keep a connection up to 30 s longer than the header timeout says.
    connectionsCheckingInterval: Math.min(1000, Math.max(100, headerTimeoutMs / 4)),
  }, handler);
  server.on('checkContinue', (req, res) => {
    holdContinue(req);
    handler(req, res);
  });
  server.on('clientError', clientErrorHandler(logger));
  const connections = guardConnections(server, { ...options.limits, logger });
  return { server, connections };
}
