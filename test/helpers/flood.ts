import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** Connections held open by a flood, with a count of those the server has closed. */
export interface Flood {
  sockets: Socket[];
  /** How many the server has closed (sent its FIN or a reset) or refused so far. */
  closed(): number;
  /** Ends the flood (destroys every socket). */
  stop(): void;
}

/**
 * Opens `count` connections from the given source addresses (round robin; any 127.x.y.z on Linux) that
 * each send a request's first line and then one header line every `everyMs`, never finishing the headers:
 * a slow-header flood. Refused connections simply count as closed. Resolves once every connection has
 * either been established or failed.
 */
export async function slowHeaderFlood(port: number, count: number, sources: string[], everyMs = 500): Promise<Flood> {
  const sockets: Socket[] = [];
  let closed = 0;
  const timers: NodeJS.Timeout[] = [];
  await Promise.all(Array.from({ length: count }, (_, i) => new Promise<void>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: sources[i % sources.length], allowHalfOpen: true });
    sockets.push(socket);
    socket.on('error', () => {});
    // Half-open on purpose, as an attacker keeps it: the server's FIN ('end') already means it let go.
    let counted = false;
    const gone = (): void => {
      if (!counted) closed++;
      counted = true;
      resolve();
    };
    socket.once('end', gone);
    socket.once('close', gone);
    socket.resume();
    socket.once('connect', () => {
      socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n');
      let n = 0;
      timers.push(setInterval(() => { if (!socket.destroyed) socket.write(`X-Slow-${n++}: y\r\n`); }, everyMs));
      resolve();
    });
  })));
  return {
    sockets,
    closed: () => closed,
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The source addresses 127.0.0.<first> .. 127.0.0.<first + n - 1>. */
export function loopbackSources(n: number, first = 2): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.0.${first + i}`);
}
