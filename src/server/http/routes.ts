import Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { withKey } from './auth.js';
import type { KeyCheck } from './auth.js';
import { createHealthCache } from './health.js';
import type { HealthCacheOptions } from './health.js';
import { notReadyReason } from './health.js';
import { sendError } from './http-errors.js';
import type { Metrics } from './metrics.js';
import type { RequestTarget } from '../../proxy/request-target.js';

/** What the routes need from the rest of the server. */
export interface RouteOptions extends HealthCacheOptions {
  metrics: Metrics;
  /** The key check, applied to every route that needs a key. */
  checkKey: KeyCheck;
  readyRequiresUpstream?: boolean;
  /** Handles every other /api/v1/... request once authenticated; absent means 503. */
  forward?: Middleware;
}

/** Route label of everything handed to the forwarder. */
export const FORWARDED_ROUTE = '/api/v1/*';
const LIVE = JSON.stringify({ status: 'ok' });
const READY = JSON.stringify({ status: 'ready' });
const OPEN_PATHS = new Set(['/livez', '/readyz']);
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The daemon's own routes: /livez and /readyz open, /api/v1/health and /metrics behind the key.
 * Case-sensitive, no trailing slash, so a path is either exactly one of ours or not ours at all.
 */
export function createRouter(options: RouteOptions): Router {
  const { store, metrics, checkKey, status, upstream } = options;
  const health = createHealthCache(options);
  // No route has parameters, so the per-request capture matching is skipped.
  const router = new Router({ sensitive: true, strict: true, ignoreCaptures: true });
  router.get('/livez', (ctx) => {
    ctx.type = 'json';
    ctx.body = LIVE;
  });
  router.get('/readyz', async (ctx) => {
    const reason = notReadyReason(store.loaded, status(), options.readyRequiresUpstream ? await upstream.info() : undefined, options.clock());
    ctx.set('Cache-Control', 'no-store');
    if (reason) return sendError(ctx, { status: 503, detail: reason });
    ctx.type = 'json';
    ctx.body = READY;
  });
  router.get('/api/v1/health', withKey(checkKey, (ctx) => {
    const body = health.body();
    if (typeof body === 'string') return sendHealth(ctx, body);
    // Only until the first upstream probe has answered; afterwards the body is ready at once.
    return body.then((text) => sendHealth(ctx, text));
  }));
  router.get('/metrics', withKey(checkKey, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  }));
  return router;
}

/**
 * Writes the health answer (a cached string, constant headers) straight onto the Node response, with
 * Koa's own answering turned off for it (`ctx.respond = false`, as the forwarder does): Koa's body setter
 * and respond() cost about 3 us per request, on the route monitoring and the benchmark hit most. The
 * frame still counts it (ctx.status reads the Node status) and a request id set earlier is already on it.
 */
function sendHealth(ctx: Context, text: string): void {
  const { res } = ctx;
  ctx.respond = false;
  res.statusCode = 200;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text); // for HEAD, Node sends the headers alone
}

/**
 * What happens to requests no route took: a known path with another method is 405 (after the key
 * check on protected paths, so unauthenticated callers learn nothing about them); other /api/v1/...
 * requests are authenticated and forwarded (503 without an upstream); anything else is 404.
 */
export function fallback(options: Pick<RouteOptions, 'checkKey' | 'forward'>): Middleware {
  const { checkKey, forward } = options;
  const methodNotAllowed = (ctx: Context): void => {
    sendError(ctx, { status: 405, detail: 'Method not allowed', headers: { Allow: 'GET, HEAD' } });
  };
  return async function fallbackRoute(ctx, next) {
    const known = (ctx as RouterContext).matched?.[0]?.path;
    if (typeof known === 'string') {
      ctx.state.route = known;
      if (OPEN_PATHS.has(known) || checkKey(ctx)) methodNotAllowed(ctx);
      return;
    }
    const { path } = ctx.state.target as RequestTarget;
    if (path.startsWith('/api/v1/') || path === '/api/v1') {
      ctx.state.route = FORWARDED_ROUTE;
      if (!checkKey(ctx)) return;
      if (forward) return forward(ctx, next);
      sendError(ctx, { status: 503, detail: 'No upstream configured' });
      return;
    }
    sendError(ctx, { status: 404, detail: 'Not found' });
  };
}
