import type { EventEmitter } from 'node:events';
import type { Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';

const TIMEOUT_BODY = JSON.stringify({ detail: 'Request timeout' });
const TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n'
  + `Content-Length: ${Buffer.byteLength(TIMEOUT_BODY)}\r\nConnection: close\r\n\r\n${TIMEOUT_BODY}`;

/** An HTTP/1.1-over-TLS connection's deadline, whether it counts, and how many of its requests are being answered. */
interface Connection {
  timer: NodeJS.Timeout;
  armed: boolean;
  open: number;
}

/**
 * HTTP/1.1 over TLS is served by the HTTP/2 server's fallback, where Node runs none of node:http's header
 * and request timers: a client that sent its headers a byte at a time would hold the connection for ever
 * (every byte resets the keep-alive idle timer). Every request's headers must arrive within `ms`
 * (`--header-timeout`), else the client gets 408 JSON and the connection closes, as on plain HTTP: the
 * first's counted from the handshake, each next one's from the answer before it, once no request is being
 * answered any more (pipelined ones included). `/livez`, `/readyz` and 404s need no key and keep the
 * connection open, so a client without one may send any number of requests. HTTP/2 sessions have their
 * own idle close. Returns what the request handler calls once a request's headers are in.
 *
 * One timer per connection, made once: from a request's headers on it is disarmed, and going off does
 * nothing; the end of the last answer arms it and starts it again (`refresh()`, which also re-arms a timer
 * that already went off).
 * A timer made and cleared per request cost the HTTPS health route about a seventh of its throughput.
 */
export function headerDeadline(server: Http2SecureServer, ms: number): (req: { socket: object }, res: EventEmitter) => void {
  const connections = new WeakMap<object, Connection>();
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return;
    const connection: Connection = {
      open: 0,
      armed: true,
      timer: setTimeout(() => {
        if (!connection.armed) return; // headers in, answer on its way or connection ending: no count runs
        if (socket.writable) socket.end(TIMEOUT_ANSWER);
        else socket.destroy();
      }, ms).unref(),
    };
    connections.set(socket, connection);
    socket.once('close', () => clearTimeout(connection.timer));
  });
  return (req, res) => {
    // An HTTP/2 request's socket is a stand-in that never had a deadline: nothing to stop or start again.
    const connection = connections.get(req.socket);
    if (!connection) return;
    const socket = req.socket as TLSSocket;
    connection.open++;
    connection.armed = false;
    res.once('finish', () => {
      connection.open--;
      // Once this event is over: the 'finish' listeners added after this one (the app's closing of a connection
      // whose body went unread) have run by then. Node's own, which ends a `Connection: close` answer's
      // socket, ran before. A connection ending or closed is given no deadline.
      queueMicrotask(() => {
        if (connection.open > 0 || !socket.writable) return;
        connection.armed = true;
        connection.timer.refresh();
      });
    });
  };
}
