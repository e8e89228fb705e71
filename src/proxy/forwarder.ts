import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import type Koa from 'koa';
import { Pool } from 'undici';
import type { Logger } from 'winston';
import { createBodyLimiter, declaredLengthExceeds } from './body-limit.js';
import { DEFAULT_CLIENT_HEADER, clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import { requestIdSource, resolveRequestId } from './request-id.js';
import { TARGET_PROBLEM_DETAIL, parseRequestTarget } from './request-target.js';
import type { RequestTarget, TargetProblem } from './request-target.js';
import { sendHeldContinue } from './expect-continue.js';
import { ResponseRelay } from './response-relay.js';
import { classifyUpstreamError } from './upstream-error.js';

export { probeUpstream, type UpstreamProbe } from './upstream-probe.js';

/** How to reach the backend and how long and how much to accept. */
export interface ForwarderOptions {
  upstream: URL;
  /** Upstream headers timeout and response-body idle timeout, in ms. */
  timeoutMs: number;
  /** Largest request body forwarded, in bytes; larger ones get 413. */
  maxBodyBytes: number;
  logger: Logger;
  /** True while the server drains: answers then close their connection (the app does the same for its own). */
  draining?: () => boolean;
  /** The header that names the authenticated client (`ctx.state.apiClient`) to the backend; X-Api-Client by default. */
  clientHeader?: string;
  /** Longest wait for a client that reads nothing of its answer; then both connections are closed. Default 60 s. */
  writeTimeoutMs?: number;
}

/** The forwarding middleware, plus a way to release its connection pool at shutdown. */
export interface Forwarder extends Koa.Middleware {
  /** Stops taking new requests and resolves once requests in flight have finished. */
  close(): Promise<void>;
  /** Aborts requests in flight and closes every upstream connection now. */
  destroy(): Promise<void>;
}

/** The target the app parsed (ctx.state.target), or, where the forwarder is mounted alone, its own parse of the same kind. */
function targetOf(ctx: Koa.Context): RequestTarget | TargetProblem {
  const parsed = ctx.state['target'] as RequestTarget | undefined;
  return parsed ?? parseRequestTarget(ctx.req.url!);
}

/** The request body as a size-limited stream; the client's own stream is never destroyed, so a 413 can still be sent. */
function limitedBody(req: IncomingMessage, limit: number): Readable | null {
  const declared = req.headers['content-length'];
  // HTTP/2 frames the body itself: a request has one unless its headers ended the stream, whatever the length says.
  const bodiless = req.httpVersionMajor >= 2
    ? (req as unknown as Http2ServerRequest).stream.endAfterHeaders || declared === '0'
    : req.headers['transfer-encoding'] === undefined && (declared === undefined || declared === '0');
  if (bodiless) return null;
  const limiter = createBodyLimiter(limit);
  req.on('error', (err) => limiter.destroy(err));
  limiter.on('error', () => req.unpipe(limiter));
  return req.pipe(limiter);
}

/** Ends the exchange with a JSON `{detail}` answer. */
function answer(ctx: Koa.Context, status: number, detail: string): void {
  ctx.status = status;
  ctx.body = { detail };
}

/**
 * Marks an exchange the client left: 499 (nginx's "client closed request") for the access line and the
 * metrics, instead of Koa's default 404, and nothing written to the gone client. A status already sent
 * (the upstream's, before its body was cut short) stands: Koa ignores a new one once headers are out.
 */
function closedByClient(ctx: Koa.Context): void {
  ctx.status = 499;
  ctx.respond = false;
}

/**
 * Koa middleware streaming the request to `options.upstream` and the answer back; errors answered as JSON.
 * The answer is written by a ResponseRelay straight into the Node response, and Koa's own answering is
 * turned off for it once the upstream's headers are in (see ResponseRelay for why and what it saves).
 */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const { upstream, timeoutMs, maxBodyBytes, logger } = options;
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new TypeError('upstream must be an http(s) URL');
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
  if (!(maxBodyBytes >= 0)) throw new RangeError('maxBodyBytes must be zero or more');
  const pool = new Pool(upstream.origin, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const prefix = upstream.pathname.replace(/\/+$/, '');
  const clientHeader = (options.clientHeader ?? DEFAULT_CLIENT_HEADER).toLowerCase();
  const newId = requestIdSource();
  const writeTimeoutMs = options.writeTimeoutMs ?? 60_000;

  const forward = async (ctx: Koa.Context): Promise<void> => {
    const requestId = resolveRequestId(ctx.state['requestId'], ctx.req.headers['x-request-id'], newId);
    if (ctx.state['requestId'] !== requestId) {
      ctx.state['requestId'] = requestId;
      ctx.set('X-Request-Id', requestId);
    }
    const target = targetOf(ctx);
    if (typeof target === 'string') return answer(ctx, 400, TARGET_PROBLEM_DETAIL[target]);
    // `Connection: close` is HTTP/1.1's way to stop the rest of a connection; HTTP/2 forbids the header.
    const http1 = ctx.req.httpVersionMajor < 2;
    if (declaredLengthExceeds(ctx.req.headers['content-length'], maxBodyBytes)) {
      if (http1) ctx.set('Connection', 'close'); // don't read megabytes only to discard them
      return answer(ctx, 413, 'Request body too large');
    }
    const { res } = ctx;
    const relay = new ResponseRelay(res, writeTimeoutMs, (statusCode, headers) => {
      ctx.respond = false; // the relay writes the answer itself
      res.statusCode = statusCode;
      for (const [name, value] of Object.entries(clientResponseHeaders(headers))) res.setHeader(name, value);
      res.setHeader('X-Request-Id', requestId);
      if (http1 && options.draining?.()) res.setHeader('Connection', 'close');
    });
    let clientGone = false;
    // A client gone before the answer is complete cancels the upstream exchange; a response the relay
    // itself cut short (upstream failure) carries an error and is not the client's doing.
    const onClose = (): void => {
      if (res.writableFinished || res.errored) return;
      clientGone = true;
      relay.cancel(new Error('client closed request'));
    };
    res.once('close', onClose);
    const log = { requestId, method: ctx.method, path: ctx.path };
    try {
      const headers = upstreamRequestHeaders({
        headers: ctx.req.headers, remoteAddress: ctx.req.socket.remoteAddress, protocol: ctx.protocol,
        host: ctx.host, requestId, upstreamHost: upstream.host,
        apiClient: { header: clientHeader, name: ctx.state['apiClient'] as string | undefined },
      });
      sendHeldContinue(ctx.req, res); // the key, the path and the size are checked: now the body is wanted
      pool.dispatch({ path: prefix + target.path + target.query, method: ctx.method as never, headers, body: limitedBody(ctx.req, maxBodyBytes) }, relay);
      await relay.done;
    } catch (err) {
      if (clientGone) {
        logger.info('client closed request', log);
        closedByClient(ctx);
        return;
      }
      if (relay.stalled) {
        logger.info('client stopped reading; connection closed', { ...log, writeTimeoutMs });
        return;
      }
      if (relay.started) {
        logger.warn('upstream response aborted', { ...log, code: classifyUpstreamError(err).code });
        return;
      }
      const failure = classifyUpstreamError(err);
      logger.warn('upstream request failed', { ...log, status: failure.status, code: failure.code });
      if (http1 && failure.status === 413) ctx.set('Connection', 'close');
      answer(ctx, failure.status, failure.detail);
    } finally {
      res.off('close', onClose);
    }
  };

  return Object.assign(forward, {
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  });
}
