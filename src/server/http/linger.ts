import type { Socket } from 'node:net';

/** How long a connection closed with its request unread stays open, reading nothing, for the client to read its answer. */
export const LINGER_MS = 2000;

/**
 * Closes a connection whose request was not (all) read: reading stops, the answer written so far goes out
 * followed by our FIN, and the socket is destroyed `lingerMs` (LINGER_MS unless a test says otherwise) later.
 * Destroying it at once would close it with the client's unread bytes still queued in the kernel, which
 * sends a reset; a client still uploading then usually loses the answer (the 401 or 413 it needed) to it.
 * Not reading is what bounds the cost: what a client sends meanwhile stays in the kernel's buffer, and its
 * window closes.
 */
export function closeWithoutReading(socket: Socket, answer?: string, lingerMs = LINGER_MS): void {
  socket.pause();
  socket.end(answer ?? ''); // nothing more than the FIN when there is no answer to send
  setTimeout(() => socket.destroy(), lingerMs).unref();
}
