import type { Socket } from 'node:net';
import type { Context, Middleware } from 'koa';
import { closeAfterAnswer } from './connection-close.js';
import { readCredential } from './credentials.js';
import { sendError } from './http-errors.js';
import type { KeyStore } from '../reload/key-store.js';
import type { Metrics } from './metrics.js';
import type { FailureThrottle } from './throttle.js';

/** The detail every missing or wrong key gets, as the interface promises. */
export const INVALID_KEY_DETAIL = 'Invalid or missing API key';

/** What the key check needs. */
export interface AuthOptions {
  store: KeyStore;
  metrics?: Pick<Metrics, 'authFailure' | 'authenticated'>;
  /** Failed-auth throttle per client address (IPv6: per /64); absent means none. */
  throttle?: FailureThrottle;
  /** Called with the connection of every request that passes. */
  trustConnection?: (socket: Socket) => void;
  realm?: string;
}

/** Answers a request without a valid key itself (401, 400 or 429) and says whether it may go on. */
export type KeyCheck = (ctx: Context) => boolean;

/**
 * The key check (X-API-Key or Authorization: Bearer), synchronous so that routes can run it inline:
 * the valid path costs one header read, one SHA-256 and one lookup; failures are answered here, without
 * throwing. The client the key belongs to (`default` for the static key) goes into `ctx.state.apiClient`,
 * for the access line and the forwarded request, and into the metrics.
 */
export function createKeyCheck(options: AuthOptions): KeyCheck {
  const { store, metrics, throttle, trustConnection } = options;
  const realm = options.realm ?? 'qwen-api';
  const unauthorized = { status: 401, detail: INVALID_KEY_DETAIL, headers: { 'WWW-Authenticate': `Bearer realm="${realm}"` } };
  const malformed = {
    status: 400,
    detail: 'Malformed Authorization header; send X-API-Key: KEY or Authorization: Bearer KEY',
    headers: { 'WWW-Authenticate': `Bearer realm="${realm}", error="invalid_request"` },
  };

  const refuse = (ctx: Context, answer: typeof unauthorized, reason: 'missing' | 'invalid' | 'malformed'): false => {
    closeAfterAnswer(ctx); // a client without a key keeps no connection open between attempts
    const wait = throttle ? throttle.fail(ctx.req.socket.remoteAddress) : 0;
    if (wait > 0) {
      metrics?.authFailure('throttled');
      sendError(ctx, { status: 429, detail: 'Too many failed authentication attempts', headers: { 'Retry-After': String(wait) } });
      return false;
    }
    metrics?.authFailure(reason);
    sendError(ctx, answer);
    return false;
  };

  return function checkKey(ctx) {
    const { req } = ctx;
    const apiKey = req.headers['x-api-key'];
    // Node keeps only the first of repeated Authorization headers; look at all of them, but only when used.
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent; the condition only spares the headersDistinct lookup, and readCredential ignores Authorization whenever X-API-Key is non-empty
    const authorization = (apiKey === undefined || apiKey === '') && req.headers.authorization !== undefined
      ? req.headersDistinct?.authorization ?? rawValues(req.rawHeaders, 'authorization') : undefined;
    const credential = readCredential(apiKey, authorization);
    if (!credential.ok) return refuse(ctx, credential.problem === 'malformed' ? malformed : unauthorized, credential.problem);
    const match = store.verify(credential.key);
    if (match === null) return refuse(ctx, unauthorized, 'invalid');
    ctx.state.apiClient = match.client;
    metrics?.authenticated(match);
    trustConnection?.(req.socket);
    return true;
  };
}

/**
 * A route handler that runs only for requests that pass `check`: the same as a key-check middleware
 * placed before it, without a middleware layer of its own, which every request on the route would pay for.
 */
export function withKey(check: KeyCheck, handler: Middleware): Middleware {
  return (ctx, next) => (check(ctx) ? handler(ctx, next) : Promise.resolve());
}

// HTTP/2 requests (Node's compatibility API) have no headersDistinct and keep only the first Authorization
// in `headers`; their rawHeaders still hold every one.
function rawValues(raw: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
  return values;
}
