import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { constants, createSecureServer } from 'node:http2';
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import { isIPv4 } from 'node:net';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { headerDeadline } from './header-deadline.js';

/** What the daemon listens with: plain HTTP/1.1, or TLS carrying HTTP/2 and HTTP/1.1 (by ALPN) on one port. */
export type ListeningServer = Server | Http2SecureServer;

/** A request handler for either protocol (Koa's `app.callback()`). */
export type RequestHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => unknown;

/** The listening server and how to close the connections it holds, whichever protocol they speak. */
export interface Listener {
  /** A net.Server: `'connection'` for every TCP connection (before any TLS), `listen`, `close`, `address`. */
  server: ListeningServer;
  scheme: 'http' | 'https';
  /** The handler as the server calls it for a request: what a `checkContinue` listener must call too. */
  handle: RequestHandler;
  /**
   * Closes HTTP/1.1 connections with no request in flight, and sends every HTTP/2 session GOAWAY: it
   * takes no new streams, finishes the open ones, then closes. Called repeatedly while draining.
   */
  closeIdle(): void;
  /** Cuts every connection now. */
  closeAll(): void;
}

/** TLS settings: the pair (and client CA) in force at start, and whether client certificates are required. */
export interface TlsListenOptions {
  context: SecureContextOptions;
  requireClientCertificates: boolean;
  /** How long a connection with no request open stays (IDLE_CONNECTION_MS). */
  idleMs?: number;
}

/** Idle time after which a connection with no request open is closed: Node's HTTP/1.1 keep-alive default, for HTTP/2 too. */
export const IDLE_CONNECTION_MS = 5000;
/** Streams one HTTP/2 connection may have open at once (Node's default has no limit; nginx uses 128). */
export const MAX_CONCURRENT_STREAMS = 100;
/** Longest a TLS handshake may take (Node's default is 120 s: long enough to hold sockets for nothing). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Largest HTTP/2 header list, as HPACK counts it: about the 16 KiB Node allows HTTP/1.1 headers. */
export const MAX_HEADER_LIST_BYTES = 16 * 1024 + 2048;

/**
 * Creates the server the daemon listens with: plain HTTP without `tls`, else HTTP/2 with HTTP/1.1 fallback.
 * `http` are node:http's server options (its timeouts), given to either.
 */
export function createListener(handler: RequestHandler, tls?: TlsListenOptions, http: ServerOptions = {}): Listener {
  if (!tls) {
    const server = createServer(http, handler);
    return { server, scheme: 'http', handle: handler, closeIdle: () => server.closeIdleConnections(), closeAll: () => server.closeAllConnections() };
  }
  const handle: RequestHandler = (req, res) => {
    headersIn(req, res);
    // Only requests with a body (a GET's headers end its stream). On the stream's own 'finish' (the
    // compatibility response emits its 'finish' only once the stream has closed), and on the next turn:
    // a reset submitted inside that event is never sent.
    const { stream } = req as Http2ServerRequest;
    if (req.httpVersionMajor >= 2 && !stream.endAfterHeaders) stream.once('finish', () => setImmediate(endUnreadBody, req as Http2ServerRequest));
    return handler(req, res);
  };
  const server = createSecureServer({
    ...http,
    ...tls.context,
    allowHTTP1: true,
    requestCert: tls.requireClientCertificates,
    rejectUnauthorized: tls.requireClientCertificates,
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: MAX_HEADER_LIST_BYTES },
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  }, handle);
  const headersIn = headerDeadline(server, http.headersTimeout ?? HANDSHAKE_TIMEOUT_MS);
  // Unset on HTTP/2 servers, where HTTP/1.1 keep-alive connections would otherwise stay open for ever.
  const idleMs = tls.idleMs ?? IDLE_CONNECTION_MS;
  (server as Http2SecureServer & { keepAliveTimeout?: number }).keepAliveTimeout = idleMs;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Node answers an HTTP/2 CONNECT itself, 405 with an empty body; every error of ours is JSON. (HTTP/1.1
  // CONNECT arrives here with a bare socket: closed, as a plain HTTP server with no listener does.)
  server.on('connect', (_req: unknown, res: Http2ServerResponse | Socket) => {
    if (!('stream' in res)) return void res.destroy();
    const body = JSON.stringify({ detail: 'Method not allowed' });
    res.writeHead(405, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    // The client's half of the stream stays open (a tunnel would use it): Node resets it with NO_ERROR once the
    // answer is sent, as it does for every request whose body was never read.
    res.end(body);
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    closeWhenIdle(session, idleMs);
  });
  return {
    server,
    scheme: 'https',
    handle,
    closeIdle() {
      // Closes the idle HTTP/1.1 connections: on Http2SecureServer since Node 20.12 (engines: >= 20.19), not in @types/node 20.
      (server as Http2SecureServer & { closeIdleConnections: () => void }).closeIdleConnections();
      // close() does nothing to a session already closing.
      for (const session of sessions) session.close();
    },
    closeAll() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

// An answer sent before the request's body was read to its end (413 past the limit, an upstream failing
// mid-upload) leaves the client's half of the stream open, blocked by flow control, for ever: HTTP/1.1 closes
// the connection, HTTP/2 resets the stream with NO_ERROR, which asks the client to stop sending without
// failing the answer (RFC 9113, 8.1). Node does this itself only for a body never read at all. (close()
// does nothing to a stream already closed.)
function endUnreadBody(req: Http2ServerRequest): void {
  if (!req.complete) req.stream.close(constants.NGHTTP2_NO_ERROR);
}

// An HTTP/2 session with no stream open for `idleMs` is closed (GOAWAY), as an idle HTTP/1.1 keep-alive
// connection is: a client that opens connections and sends nothing must not hold them.
function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => session.close(), idleMs).unref();
  };
  session.on('stream', (stream) => {
    open++;
    clearTimeout(timer);
    stream.once('close', () => { if (--open === 0) arm(); });
  });
  session.once('close', () => clearTimeout(timer));
  arm();
}

/** Whether an address the server listens on is reachable from this machine only (127.0.0.0/8, ::1). */
export function isLoopback(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '');
  return address === '::1' || (isIPv4(v4) && v4.startsWith('127.'));
}
