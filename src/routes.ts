import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { healthBody, notReadyReason } from './health.js';
import type { ServerStatus } from './health.js';
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

/** The daemon's own routes: /livez and /readyz open, /api/v1/health and /metrics behind the key. */
export function createRouter(options: RouteOptions): Router {
  const { store, metrics, auth, status, upstream, clock } = options;
  // Case-sensitive, so a path is either exactly one of ours or not ours at all.
  const router = new Router({ sensitive: true, exclusive: true });
  router.get('/livez', (ctx) => {
    ctx.type = 'json';
    ctx.body = LIVE;
  });
  router.get('/readyz', async (ctx) => {
    const reason = notReadyReason(store.loaded, status(), options.readyRequiresUpstream ? await upstream.info() : undefined);
    ctx.set('Cache-Control', 'no-store');
    if (reason) return sendError(ctx, { status: 503, detail: reason });
    ctx.type = 'json';
    ctx.body = READY;
  });
  router.get('/api/v1/health', auth, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = healthBody({
      description: store.describe(),
      now: clock(),
      startedAt: options.startedAt,
      version: options.version,
      maxKeyAgeMs: options.maxKeyAgeMs,
      status: status(),
      upstream: await upstream.info(),
    });
  });
  router.get('/metrics', auth, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}

/**
 * What happens to requests no route took: other /api/v1/... requests are authenticated and forwarded
 * (503 without an upstream), a known path with the wrong method is 405, anything else 404.
 */
export function fallback(options: Pick<RouteOptions, 'auth' | 'forward'>): Middleware {
  const { auth, forward } = options;
  const afterAuth = (ctx: Context, next: Next): unknown => {
    if (methodNotAllowed(ctx)) return undefined;
    if (forward) return forward(ctx, next);
    return sendError(ctx, { status: 503, detail: 'No upstream configured' });
  };
  return async function fallbackRoute(ctx, next) {
    if (ctx.path.startsWith('/api/v1/') || ctx.path === '/api/v1') {
      ctx.state.route = FORWARDED_ROUTE;
      await auth(ctx, () => Promise.resolve(afterAuth(ctx, next)));
    } else if (!methodNotAllowed(ctx)) {
      sendError(ctx, { status: 404, detail: 'Not found' });
    }
  };
}

function methodNotAllowed(ctx: Context): boolean {
  const matched = (ctx as Context & { matched?: { methods: string[] }[] }).matched;
  if (!matched || matched.length === 0) return false;
  const allowed = new Set(matched.flatMap((layer) => layer.methods));
  sendError(ctx, { status: 405, detail: 'Method not allowed', headers: { Allow: [...allowed].join(', ') } });
  return true;
}
