import type { Server, Socket } from 'node:net';
import type { Logger } from 'winston';
import { clientOf } from './client-address.js';

/** Caps on open connections. */
export interface ConnectionLimits {
  /** Most connections open at once. */
  max: number;
  /** Most connections from one client (an IPv4 address, or an IPv6 /64); undefined for no such cap. */
  perClient?: number;
}

/** What the guard did: `total` and `per_ip` refusals, and `evicted` connections closed to make room. */
export type ConnectionEvent = 'total' | 'per_ip' | 'evicted';

/** The guard's counts (for metrics) and the one thing the app tells it. */
export interface ConnectionGuard {
  readonly open: number;
  readonly counts: Readonly<Record<ConnectionEvent, number>>;
  /** A request on this connection carried a valid key: from now on it is never evicted. */
  trust(socket: Socket): void;
}

/** Options for guardConnections. */
export interface ConnectionGuardOptions extends ConnectionLimits {
  logger: Logger;
  clock?: () => number;
  /** Shortest gap between two log lines of one kind; what happens in between is counted into the next. */
  logEveryMs?: number;
}

/**
 * Applies the caps to any net.Server (node:http, https, http2 alike) on its `connection` event, before a
 * byte of the request is read. Past the per-client cap a new connection is closed at once. Past the total,
 * the oldest connection that has never carried a valid key is closed to make room (a slow-header flood
 * from many addresses thus cannot lock out a client with the key); only when every connection has, is the
 * new one refused. Keeping the total below the open-file limit is what leaves descriptors for the key
 * watch and reloads, however many connections a flood opens.
 */
export function guardConnections(server: Server, options: ConnectionGuardOptions): ConnectionGuard {
  const { logger, perClient, max } = options;
  const log = throttledLog(logger, options.clock ?? Date.now, options.logEveryMs ?? 10_000);
  const counts: Record<ConnectionEvent, number> = { total: 0, per_ip: 0, evicted: 0 };
  const byClient = new Map<string, number>();
  // Connections that never carried a valid key, oldest first (a Set keeps insertion order).
  const untrusted = new Set<Socket>();
  let open = 0;

  const refuse = (event: ConnectionEvent, socket: Socket, client: string): void => {
    socket.destroy();
    counts[event]++;
    log(event, { client, max: event === 'per_ip' ? perClient : max });
  };

  server.on('connection', (socket: Socket) => {
    const client = clientOf(socket.remoteAddress);
    const fromClient = (byClient.get(client) ?? 0) + 1;
    if (perClient !== undefined && fromClient > perClient) return refuse('per_ip', socket, client);
    if (open >= max) {
      const oldest = untrusted.values().next();
      if (oldest.done) return refuse('total', socket, client);
      // Out of the set at once: its `close` comes later, and the next newcomer must pick another.
      untrusted.delete(oldest.value);
      refuse('evicted', oldest.value, clientOf(oldest.value.remoteAddress));
    }
    byClient.set(client, fromClient);
    untrusted.add(socket);
    open++;
    socket.once('close', () => {
      open--;
      untrusted.delete(socket);
      const left = byClient.get(client)! - 1;
      if (left === 0) byClient.delete(client);
      else byClient.set(client, left);
    });
  });
  return {
    get open() { return open; },
    counts,
    // A TLS socket wraps the raw one the server counted (`_parent`); plain HTTP hands the raw one.
    trust: (socket) => void untrusted.delete((socket as Socket & { _parent?: Socket })._parent ?? socket),
  };
}

// A flood must not become a flood of log lines: one line, then at most one per period with the count since.
function throttledLog(logger: Logger, clock: () => number, everyMs: number) {
  const unlogged: Record<ConnectionEvent, number> = { total: 0, per_ip: 0, evicted: 0 };
  const loggedAt: Record<ConnectionEvent, number> = { total: -Infinity, per_ip: -Infinity, evicted: -Infinity };
  return (event: ConnectionEvent, fields: Record<string, unknown>): void => {
    unlogged[event]++;
    const now = clock();
    if (now - loggedAt[event] < everyMs) return;
    const limit = event === 'per_ip' ? 'per_ip' : 'total';
    const evicted = event === 'evicted';
    logger.warn(evicted ? 'connections evicted' : 'connections refused', { limit, ...fields, count: unlogged[event] });
    loggedAt[event] = now;
    unlogged[event] = 0;
  };
}
