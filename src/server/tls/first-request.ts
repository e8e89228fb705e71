import type { Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';

const TIMEOUT_BODY = JSON.stringify({ detail: 'Request timeout' });
const TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n'
  + `Content-Length: ${Buffer.byteLength(TIMEOUT_BODY)}\r\nConnection: close\r\n\r\n${TIMEOUT_BODY}`;

/**
 * HTTP/1.1 over TLS is served by the HTTP/2 server's fallback, where Node runs none of node:http's header
 * and request timers: a client that finished its handshake and then sent its headers a byte at a time would
 * hold the connection for ever. Its first request's headers must arrive within `ms` (`--header-timeout`),
 * else it gets 408 JSON and the connection closes, as on plain HTTP. Later requests on the connection come
 * from a client that had an answer already, and a refused key closes the connection. HTTP/2 sessions have
 * their own idle close. Returns what the request handler calls once a request's headers are in.
 */
export function firstRequestDeadline(server: Http2SecureServer, ms: number): (socket: object) => void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return;
    const timer = setTimeout(() => {
      if (socket.writable) socket.end(TIMEOUT_ANSWER);
      else socket.destroy();
    }, ms).unref();
    timers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  return (socket) => {
    clearTimeout(timers.get(socket));
    timers.delete(socket);
  };
}
