import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import { closeWithoutReading } from './linger.js';

/**
 * Closes the connection after this answer: after a refused key (so a client without one holds no
 * connection between attempts), and after any answer given before the request's body was read. Kept
 * open, Node would read the rest of the body and throw it away to reach the next request: a 10 GB
 * Content-Length sent without a key was read at 0.5 GB/s; a body trickled a byte a second held its
 * connection for minutes. An unread body is never read: the socket stops reading and lingers briefly.
 */
export function closeAfterAnswer(ctx: Context): void {
  const { req, res } = ctx;
  // HTTP/2 ends the stream on its own and forbids the Connection header.
  if (req.httpVersionMajor >= 2) return;
  const unread = bodyUnread(ctx);
  const socket = req.socket;
  if (!res.headersSent) {
    res.setHeader('Connection', 'close');
    // Node closes a `Connection: close` answer's socket with destroySoon(): at once, once the answer is
    // flushed, so with the body unread (see closeWithoutReading). This socket lingers instead.
    if (unread) socket.destroySoon = () => closeWithoutReading(socket);
    return;
  }
  if (!unread) return;
  // A route that wrote its answer itself on a kept-alive connection: closed once the answer is out.
  if (res.writableFinished) closeWithoutReading(socket);
  else res.once('finish', () => closeWithoutReading(socket));
}

/** True while the request announced a body that has not been read to its end. */
export function bodyUnread(ctx: Context): boolean {
  // `complete` alone is no proof of a body: an answer made before Node has parsed a bodiless request's
  // end sees it still false.
  return !ctx.req.complete && announcesBody(ctx.req.headers);
}

function announcesBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
