import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Middleware } from 'koa';
import type { Logger } from 'winston';
import { closeWithoutReading } from './linger.js';

/** What a failed request is answered with. */
export interface ErrorAnswer {
  status: number;
  detail: string;
  headers?: Record<string, string>;
}

/**
 * Maps any thrown value to an answer. Errors carry `status`/`expose`/`headers` as Koa's `ctx.throw` and
 * its body parsers make them; only errors marked `expose` show their message, 5xx never do.
 */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  // URIError: bad percent-encoding; ERR_INVALID_URL: an absolute-form target Node accepts but cannot parse.
  if (err instanceof URIError || (err as { code?: unknown } | null)?.code === 'ERR_INVALID_URL') return { status: 400, detail: 'Malformed URL' };
  const e = (err ?? {}) as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown; headers?: unknown };
  const raw = typeof e.status === 'number' ? e.status : e.statusCode;
  const status = typeof raw === 'number' && raw >= 400 && raw <= 599 ? raw : 500;
  const exposed = status < 500 && e.expose === true && typeof e.message === 'string' && e.message !== '';
  const detail = exposed ? (e.message as string) : status >= 500 ? 'Internal server error' : STATUS_CODES[status] ?? 'Error';
  const headers = typeof e.headers === 'object' && e.headers !== null ? (e.headers as Record<string, string>) : undefined;
  return { status, detail, headers };
}

/** The request's path for logs; never throws, even for a target the URL parser refuses. */
export function pathOf(ctx: Parameters<Middleware>[0]): string {
  try {
    return ctx.path;
  } catch {
    return '(malformed)';
  }
}

/** Writes an answer as `{"detail": ...}` JSON. */
export function sendError(ctx: Parameters<Middleware>[0], answer: ErrorAnswer): void {
  ctx.status = answer.status;
  if (answer.headers) ctx.set(answer.headers);
  ctx.body = { detail: answer.detail };
}

/**
 * Answers a request whose handling threw: JSON with the right status, unexpected errors (5xx) logged.
 * Called by the app's outermost middleware, so no error anywhere below it escapes as a non-JSON answer.
 */
export function answerError(ctx: Parameters<Middleware>[0], err: unknown, logger: Logger): void {
  const answer = toErrorAnswer(err);
  if (answer.status >= 500) {
    logger.error('request failed', { requestId: ctx.state.requestId, path: pathOf(ctx), error: (err as Error)?.stack ?? String(err) });
  }
  if (ctx.headerSent || !ctx.writable) {
    ctx.res.destroy();
    return;
  }
  // Headers set before the failure (e.g. by a handler) belong to a response that never happens.
  for (const name of ctx.response.headers ? Object.keys(ctx.response.headers) : []) {
    if (name !== 'x-request-id') ctx.remove(name);
  }
  sendError(ctx, answer);
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timeout'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'Request timeout'],
};

/**
 * Handler for the HTTP server's `clientError` (requests Node cannot parse: bad methods, conflicting
 * Content-Length/Transfer-Encoding, oversized headers): a JSON answer instead of Node's plain text.
 */
export function clientErrorHandler(logger: Logger): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    // As Node does: once an answer has started on this socket, nothing more can be said on it.
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, detail] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad request'];
    logger.debug('unparsable request', { code: err.code, status });
    const body = JSON.stringify({ detail });
    // Closed for good shortly after the answer: ending only our side would leave the descriptor to a
    // client that never closes its own (a slow-header flood would keep every one it was answered on).
    closeWithoutReading(socket,
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
}
