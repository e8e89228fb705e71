import type { Socket } from 'node:net';
import type { RouterContext } from '@koa/router';
import Koa from 'koa';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'winston';
import { createKeyCheck } from './auth.js';
import type { ServerStatus } from './health.js';
import { answerError, pathOf, sendError } from './http-errors.js';
import type { KeyStore } from '../reload/key-store.js';
import type { Metrics } from './metrics.js';
import { SANE_REQUEST_ID, requestIdSource } from '../../proxy/request-id.js';
import { TARGET_PROBLEM_DETAIL, parseRequestTarget } from '../../proxy/request-target.js';
import { createRouter, fallback } from './routes.js';
import { bodyUnread, closeAfterAnswer } from './connection-close.js';
import type { FailureThrottle } from './throttle.js';
import { createUpstreamMonitor } from '../../proxy/upstream-monitor.js';
import type { UpstreamMonitor } from '../../proxy/upstream-monitor.js';

/** Everything the HTTP app is made of; only store, metrics, logger and status are required. */
export interface AppOptions {
  store: KeyStore;
  metrics: Metrics;
  logger: Logger;
  /** Asked on /readyz and /api/v1/health: is the server accepting, what did the last reload do. */
  status: () => ServerStatus;
  /** Handles authenticated /api/v1/... requests that are not the daemon's own (e.g. createForwarder). */
  forward?: Middleware;
  upstream?: UpstreamMonitor;
  readyRequiresUpstream?: boolean;
  /** Failed-auth throttle per client address; absent means none. */
  throttle?: FailureThrottle;
  /** Told of each connection that carried a valid key (the connection guard never evicts those). */
  trustConnection?: (socket: Socket) => void;
  maxKeyAgeMs?: number;
  version?: string;
  clock?: () => number;
}

/** Socket errors that mean the client reset or closed the connection (Koa reports them as app errors). */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Builds the Koa app: request id, access log and metrics, JSON errors, the key check, routes, fallback. */
export function createApp(options: AppOptions): Koa {
  const { metrics, logger } = options;
  const clock = options.clock ?? Date.now;
  const checkKey = createKeyCheck({ store: options.store, metrics, throttle: options.throttle, trustConnection: options.trustConnection });
  const routeOptions = {
    ...options,
    checkKey,
    clock,
    upstream: options.upstream ?? createUpstreamMonitor({}),
    version: options.version ?? '0.0.0',
    startedAt: clock(),
  };
  const app = new Koa({ proxy: false });
  app.silent = true;
  app.on('error', (err: NodeJS.ErrnoException, ctx?: Context) => {
    // A client that resets or goes away mid-answer is its own doing: a short line, no stack.
    if (CLIENT_GONE.has(err.code ?? '')) return void logger.debug('client connection lost', { code: err.code, requestId: ctx?.state.requestId });
    logger.error('unhandled request error', { error: err.stack ?? String(err) });
  });
  app.use(frame(metrics, logger, options.status));
  app.use(createRouter(routeOptions).routes());
  app.use(fallback(routeOptions));
  return app;
}

/**
 * Outermost middleware: request id; any error below answered as JSON; after the answer, the request count
 * and (at `http` level) the access line. One middleware rather than three, and promise callbacks rather
 * than an async function: every layer and every await costs each request.
 *
 * A client's sane X-Request-Id is always echoed. An id is made only where something records it: every
 * request when access lines are written, a request that fails, and (by the forwarder) every request sent
 * upstream. Making and sending one on every answer cost about 3% of the health route's throughput.
 */
function frame(metrics: Metrics, logger: Logger, status: () => ServerStatus): Middleware {
  // Checked once: the level is fixed for the process, and a disabled access log must cost nothing.
  const accessLog = logger.isLevelEnabled('http');
  const newId = requestIdSource();
  const assignId = (ctx: Context, requestId: string): string => {
    ctx.state.requestId = requestId;
    ctx.res.setHeader('X-Request-Id', requestId);
    return requestId;
  };
  // While draining, an answer also closes its connection, so a keep-alive client opens a new one
  // (to another replica) instead of sending its next request into a socket about to close. Checked
  // before the answer too, for routes that write theirs straight to the Node response.
  // HTTP/2 forbids the header (its sessions get GOAWAY instead, from the drain).
  const closeIfDraining = (ctx: Context): void => {
    if (!status().accepting && !ctx.headerSent && ctx.req.httpVersionMajor < 2) ctx.res.setHeader('Connection', 'close');
  };
  const finish = (ctx: Context, start: number): void => {
    closeIfDraining(ctx);
    if (!ctx.req.complete && bodyUnread(ctx)) closeAfterAnswer(ctx);
    const route = routeLabel(ctx);
    metrics.request(route, ctx.status);
    if (accessLog) {
      // The path only: a query string is the one place a careless client might put a key.
      logger.http('request', {
        requestId: ctx.state.requestId, method: ctx.method, path: pathOf(ctx), route, status: ctx.status,
        ms: Math.round((performance.now() - start) * 100) / 100, client: ctx.req.socket.remoteAddress,
      });
    }
  };
  return function requestFrame(ctx, next) {
    const given = ctx.req.headers['x-request-id'];
    if (typeof given === 'string' && SANE_REQUEST_ID.test(given)) assignId(ctx, given);
    else if (accessLog) assignId(ctx, newId());
    closeIfDraining(ctx);
    const start = accessLog ? performance.now() : 0;
    // The one parse of the target: the router, the fallback's /api/v1 check and the forwarder all read it.
    const target = parseRequestTarget(ctx.req.url!);
    if (typeof target === 'string') {
      sendError(ctx, { status: 400, detail: TARGET_PROBLEM_DETAIL[target] });
      finish(ctx, start);
      return Promise.resolve();
    }
    ctx.state.target = target;
    (ctx as { newRouterPath?: string }).newRouterPath = target.path;
    // Absolute-form, reduced: Koa's own view (ctx.path, ctx.query) then agrees, and its legacy URL parser never sees it.
    if (ctx.req.url!.charCodeAt(0) !== 47 /* '/' */) ctx.req.url = target.path + target.query;
    // koa-compose turns a throw below into a rejected promise, so every failure arrives here.
    return next().then(
      () => finish(ctx, start),
      (err: unknown) => {
        // Headers may be gone (e.g. a stream failed mid-answer), so the id goes in only while it still can.
        if (typeof ctx.state.requestId !== 'string' && !ctx.headerSent) assignId(ctx, newId());
        answerError(ctx, err, logger);
        finish(ctx, start);
      },
    );
  };
}

// The matched route pattern, never the raw path: labels must stay a fixed set.
function routeLabel(ctx: Context): string {
  const route: unknown = ctx.state.route ?? (ctx as RouterContext)._matchedRoute;
  return typeof route === 'string' ? route : 'other';
}
