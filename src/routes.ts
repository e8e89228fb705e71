import type { Context, Middleware, Next } from 'koa';
import { createHealthCache } from './health.js';
import type { ServerStatus } from './health.js';
import { notReadyReason } from './health.js';
import { sendError } from './http-errors.js';
import type { KeyStore } from './key-store.js';
import type { Metrics } from './metrics.js';
import type { UpstreamMonitor } from './upstream-monitor.js';

/** What the routes need from the rest of the server. */
export interface RouteOptions {
  store: KeyStore;
  metrics: Metrics;
  /** The key check, applied to every route that needs a key. */
  auth: Middleware;
  status: () => ServerStatus;
  upstream: UpstreamMonitor;
  version: string;
  startedAt: number;
  clock: () => number;
  maxKeyAgeMs?: number;
  readyRequiresUpstream?: boolean;
  /** Handles every other /api/v1/... request once authenticated; absent means 503. */
  forward?: Middleware;
}

/** Route label of everything handed to the forwarder. */
export const FORWARDED_ROUTE = '/api/v1/*';
const LIVE = JSON.stringify({ status: 'ok' });
const READY = JSON.stringify({ status: 'ready' });
const ALLOW = { Allow: 'GET, HEAD' };

type Handler = (ctx: Context) => unknown;

/**
 * The daemon's routes: four exact paths, GET/HEAD only, so a Map lookup is the whole router (measured
 * several microseconds per request cheaper than a pattern router, on the route the benchmark hits).
 * Everything under /api/v1/ that is not ours is authenticated and forwarded (503 without an upstream);
 * a known path with another method is 405; anything else 404. Paths match exactly, case included.
 */
export function createRoutes(options: RouteOptions): Middleware {
  const { store, metrics, auth, status, upstream, forward } = options;
  const health = createHealthCache(options);
  const withKey = (handler: Handler): Handler => (ctx) => auth(ctx, () => Promise.resolve(handler(ctx)));
  const routes = new Map<string, Handler>([
    ['/livez', (ctx) => {
      ctx.type = 'json';
      ctx.body = LIVE;
    }],
    ['/readyz', async (ctx) => {
      const reason = notReadyReason(store.loaded, status(), options.readyRequiresUpstream ? await upstream.info() : undefined);
      ctx.set('Cache-Control', 'no-store');
      if (reason) return sendError(ctx, { status: 503, detail: reason });
      ctx.type = 'json';
      ctx.body = READY;
    }],
    ['/api/v1/health', withKey((ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'json';
      const body = health.body();
      if (typeof body === 'string') ctx.body = body;
      else return body.then((text) => { ctx.body = text; });
      return undefined;
    })],
    ['/metrics', withKey(async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    })],
  ]);
  const forwarded = async (ctx: Context, next: Next): Promise<void> => {
    if (forward) return forward(ctx, next);
    sendError(ctx, { status: 503, detail: 'No upstream configured' });
  };

  return function route(ctx, next) {
    const path = ctx.path;
    const handler = routes.get(path);
    if (handler) {
      ctx.state.route = path;
      if (ctx.method === 'GET' || ctx.method === 'HEAD') return Promise.resolve(handler(ctx));
      // Unauthenticated callers learn nothing about methods on protected paths.
      if (path !== '/livez' && path !== '/readyz') return auth(ctx, async () => sendError(ctx, { status: 405, detail: 'Method not allowed', headers: ALLOW }));
      sendError(ctx, { status: 405, detail: 'Method not allowed', headers: ALLOW });
      return Promise.resolve();
    }
    if (path.startsWith('/api/v1/') || path === '/api/v1') {
      ctx.state.route = FORWARDED_ROUTE;
      return auth(ctx, () => forwarded(ctx, next));
    }
    sendError(ctx, { status: 404, detail: 'Not found' });
    return Promise.resolve();
  };
}
