import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { guardConnections } from '../../src/server/connection-limits.js';
import type { ConnectionGuard, ConnectionLimits } from '../../src/server/connection-limits.js';
import { captureLogger } from '../helpers/log-capture.js';
import { closedBy, openSocket } from '../helpers/raw-http.js';

/** A bare net.Server (no HTTP at all) under the guard, the log lines it wrote, and a fake clock. */
async function guarded(limits: ConnectionLimits) {
  const log = captureLogger('info');
  const clock = { now: 0 };
  const server: Server = createServer(() => {});
  const accepted: Socket[] = [];
  const guard: ConnectionGuard = guardConnections(server, { ...limits, logger: log.logger, clock: () => clock.now });
  server.on('connection', (socket: Socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  /** The server's end of a client's connection. */
  const serverEnd = (client: Socket): Socket => accepted.find((s) => s.remotePort === client.localPort)!;
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  const connect = async (from = '127.0.0.1'): Promise<Socket> => {
    const socket = await openSocket(port, from);
    sockets.push(socket);
    return socket;
  };
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { guard, get lines() { return log.lines; }, clock, connect, close, serverEnd };
}

/** Resolves once the guard has seen `n` connections open. */
async function opened(guard: ConnectionGuard, n: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (guard.open !== n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} open, have ${guard.open}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('connection guard', () => {
  it('closes a client\'s connection past its cap, counts it, and lets other addresses in', async () => {
    const g = await guarded({ max: 10, perClient: 2 });
    try {
      await g.connect('127.0.0.2');
      await g.connect('127.0.0.2');
      await opened(g.guard, 2);
      expect((await closedBy(await g.connect('127.0.0.2'), 2000)).closed).to.equal(true);
      const other = await g.connect('127.0.0.3');
      await opened(g.guard, 3);
      expect(other.destroyed).to.equal(false);
      expect(g.guard.counts).to.deep.equal({ total: 0, per_ip: 1, evicted: 0 });
    } finally {
      await g.close();
    }
  });

  it('frees a client\'s slot when one of its connections closes', async () => {
    const g = await guarded({ max: 10, perClient: 1 });
    try {
      const first = await g.connect();
      await opened(g.guard, 1);
      first.destroy();
      await opened(g.guard, 0);
      const second = await g.connect();
      await opened(g.guard, 1);
      expect(second.destroyed).to.equal(false);
    } finally {
      await g.close();
    }
  });

  it('at the total cap evicts the oldest untrusted connection, never a trusted one', async () => {
    const g = await guarded({ max: 3 });
    try {
      const [a, b, c] = [await g.connect(), await g.connect(), await g.connect()];
      await opened(g.guard, 3);
      g.guard.trust(g.serverEnd(a));
      const bGone = closedBy(b, 2000);
      const d = await g.connect();
      expect((await bGone).closed).to.equal(true);
      await opened(g.guard, 3);
      expect([a, c, d].map((s) => s.destroyed)).to.deep.equal([false, false, false]);
      expect(g.guard.counts).to.deep.equal({ total: 0, per_ip: 0, evicted: 1 });
    } finally {
      await g.close();
    }
  });

  it('at the total cap with every connection trusted, refuses the new one', async () => {
    const g = await guarded({ max: 2 });
    try {
      const held = [await g.connect(), await g.connect()];
      await opened(g.guard, 2);
      for (const socket of held) g.guard.trust(g.serverEnd(socket));
      expect((await closedBy(await g.connect(), 2000)).closed).to.equal(true);
      expect(held.map((s) => s.destroyed)).to.deep.equal([false, false]);
      expect(g.guard.counts).to.deep.equal({ total: 1, per_ip: 0, evicted: 0 });
    } finally {
      await g.close();
    }
  });

  it('logs the first refusal, then at most one line per 10 s with the count since', async () => {
    const g = await guarded({ max: 10, perClient: 1 });
    try {
      await g.connect();
      await opened(g.guard, 1);
      const refusedOnce = async (): Promise<void> => void (await closedBy(await g.connect(), 2000));
      await refusedOnce();
      await refusedOnce();
      await refusedOnce();
      g.clock.now += 10_000;
      await refusedOnce();
      const lines = g.lines.filter((l) => l.message === 'connections refused');
      expect(lines.map((l) => [l.limit, l.client, l.max, l.count])).to.deep.equal([['per_ip', '127.0.0.1', 1, 1], ['per_ip', '127.0.0.1', 1, 3]]);
    } finally {
      await g.close();
    }
  });

  it('counts a client\'s remaining connections when one of several closes', async () => {
    const g = await guarded({ max: 10, perClient: 2 });
    try {
      const first = await g.connect();
      await g.connect();
      await opened(g.guard, 2);
      first.destroy();
      await opened(g.guard, 1);
      await g.connect();
      await opened(g.guard, 2);
      expect((await closedBy(await g.connect(), 2000)).closed, 'the third at a cap of two').to.equal(true);
      expect(g.guard.counts.per_ip).to.equal(1);
    } finally {
      await g.close();
    }
  });

  it('logs a refusal at the total cap with the total as its maximum', async () => {
    const g = await guarded({ max: 1, perClient: 5 });
    try {
      const held = await g.connect();
      await opened(g.guard, 1);
      g.guard.trust(g.serverEnd(held));
      await closedBy(await g.connect('127.0.0.2'), 2000);
      const lines = g.lines.filter((l) => l.message === 'connections refused');
      expect(lines.map(({ level, limit, client, max, count }) => ({ level, limit, client, max, count })))
        .to.deep.equal([{ level: 'warn', limit: 'total', client: '127.0.0.2', max: 1, count: 1 }]);
    } finally {
      await g.close();
    }
  });

  it('logs the first eviction, naming the client evicted, with the total as its maximum', async () => {
    const g = await guarded({ max: 1 });
    try {
      await g.connect('127.0.0.4');
      await opened(g.guard, 1);
      await g.connect('127.0.0.5');
      await opened(g.guard, 1);
      const lines = g.lines.filter((l) => l.message === 'connections evicted');
      expect(lines.map(({ level, limit, client, max, count }) => ({ level, limit, client, max, count })))
        .to.deep.equal([{ level: 'warn', limit: 'total', client: '127.0.0.4', max: 1, count: 1 }]);
      expect(g.lines.filter((l) => l.message === 'connections refused')).to.deep.equal([]);
    } finally {
      await g.close();
    }
  });
});
