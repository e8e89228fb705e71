import type { Context, Middleware } from 'koa';
import { readCredential } from './credentials.js';
import { sendError } from './http-errors.js';
import type { KeyStore } from './key-store.js';
import type { Metrics } from './metrics.js';
import type { FailureThrottle } from './throttle.js';

/** The detail every missing or wrong key gets, as the interface promises. */
export const INVALID_KEY_DETAIL = 'Invalid or missing API key';

/** What the key check needs. */
export interface AuthOptions {
  store: KeyStore;
  metrics?: Pick<Metrics, 'authFailure' | 'previousKeyUsed'>;
  /** Failed-auth throttle per client address; absent means none. */
  throttle?: FailureThrottle;
  realm?: string;
}

/**
 * Middleware admitting only requests that present a valid key (X-API-Key or Authorization: Bearer).
 * The valid path costs one header read and one SHA-256; failures are answered here, without throwing.
 */
export function requireKey(options: AuthOptions): Middleware {
  const { store, metrics, throttle } = options;
  const realm = options.realm ?? 'qwen-api';
  const unauthorized = { status: 401, detail: INVALID_KEY_DETAIL, headers: { 'WWW-Authenticate': `Bearer realm="${realm}"` } };
  const malformed = {
    status: 400,
    detail: 'Malformed Authorization header; send X-API-Key: KEY or Authorization: Bearer KEY',
    headers: { 'WWW-Authenticate': `Bearer realm="${realm}", error="invalid_request"` },
  };

  const refuse = (ctx: Context, answer: typeof unauthorized, reason: 'missing' | 'invalid' | 'malformed'): void => {
    const wait = throttle ? throttle.fail(ctx.req.socket.remoteAddress ?? '') : 0;
    if (wait > 0) {
      metrics?.authFailure('throttled');
      sendError(ctx, { status: 429, detail: 'Too many failed authentication attempts', headers: { 'Retry-After': String(wait) } });
      return;
    }
    metrics?.authFailure(reason);
    sendError(ctx, answer);
  };

  return function authenticate(ctx, next) {
    const { req } = ctx;
    const apiKey = req.headers['x-api-key'];
    // Node keeps only the first of repeated Authorization headers; look at all of them, but only when used.
    const authorization = (apiKey === undefined || apiKey === '') && req.headers.authorization !== undefined
      ? req.headersDistinct.authorization : undefined;
    const credential = readCredential(apiKey, authorization);
    if (!credential.ok) {
      refuse(ctx, credential.problem === 'malformed' ? malformed : unauthorized, credential.problem);
      return Promise.resolve();
    }
    const match = store.verify(credential.key);
    if (match === null) {
      refuse(ctx, unauthorized, 'invalid');
      return Promise.resolve();
    }
    if (match === 'previous') metrics?.previousKeyUsed();
    return next();
  };
}
