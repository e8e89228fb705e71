import { expect } from 'chai';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainServer } from '../../src/server/shutdown.js';
import { createListener } from '../../src/server/tls/listener.js';
import type { Listener } from '../../src/server/tls/listener.js';
import { closedBy, openSocket } from '../helpers/raw-http.js';
import { captureLogger, waitFor } from './reload/helpers.js';

/** A plain HTTP listener on 127.0.0.1:0 whose /slow requests wait until the test answers them. */
async function startServer(): Promise<{ listener: Listener; server: Server; port: number; held: ServerResponse[] }> {
  const held: ServerResponse[] = [];
  const listener = createListener((req, res) => {
    if (req.url === '/slow') held.push(res as ServerResponse);
    else res.end('ok');
  });
  const server = listener.server as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { listener, server, port: (server.address() as AddressInfo).port, held };
}

const request = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
/** Timers that keep the process alive (unref'd ones are not listed). */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('drainServer', () => {
  it('lets a request in flight finish, then resolves with the server closed', async () => {
    const { listener, server, port, held } = await startServer();
    const log = captureLogger();
    try {
      const socket = await openSocket(port);
      socket.write(request('/slow'));
      await waitFor(() => held.length === 1, 'the request to arrive');
      let drained = false;
      const drain = drainServer(listener, { timeoutMs: 10_000, logger: log.logger }).then(() => { drained = true; });
      const answer = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      await waitFor(() => !server.listening, 'the listener to close');
      expect(drained).to.equal(false);
      held[0]!.end('late');
      expect(await answer).to.match(/^HTTP\/1\.1 200 [^]*late$/);
      await drain;
      expect(log.lines).to.deep.equal([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('closes idle keep-alive connections at once', async () => {
    const { listener, server, port } = await startServer();
    const log = captureLogger();
    try {
      const idle = await openSocket(port);
      idle.write(request('/'));
      await new Promise((resolve) => idle.once('data', resolve));
      const drain = drainServer(listener, { timeoutMs: 10_000, logger: log.logger, sweepMs: 60_000 });
      expect((await closedBy(idle, 2000)).closed).to.equal(true);
      await drain;
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('closes a keep-alive connection as soon as its request in flight is answered', async () => {
    const { listener, server, port, held } = await startServer();
    const log = captureLogger();
    try {
      const busy = await openSocket(port);
      busy.write(request('/slow'));
      await waitFor(() => held.length === 1, 'the request to arrive');
      const drain = drainServer(listener, { timeoutMs: 10_000, logger: log.logger, sweepMs: 10 });
      held[0]!.end('done');
      // Kept alive by the client, this connection would stay open until Node's own keep-alive timeout (5 s).
      expect((await closedBy(busy, 2000)).closed).to.equal(true);
      await drain;
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('cuts the connections still open at the deadline, says so, and resolves', async () => {
    const { listener, server, port, held } = await startServer();
    const log = captureLogger();
    try {
      const socket = await openSocket(port);
      socket.write(request('/slow'));
      await waitFor(() => held.length === 1, 'the request to arrive');
      const closed = closedBy(socket, 5000);
      await drainServer(listener, { timeoutMs: 50, logger: log.logger });
      expect((await closed).closed).to.equal(true);
      expect(log.lines).to.deep.equal([
        { level: 'warn', message: 'drain timeout reached; closing remaining connections', drainTimeoutMs: 50 },
      ]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('leaves no timer behind once drained, so the process can end', async () => {
    const { listener, server } = await startServer();
    const log = captureLogger();
    try {
      const before = liveTimers();
      await drainServer(listener, { timeoutMs: 60_000, logger: log.logger, sweepMs: 10 });
      expect(liveTimers()).to.equal(before);
    } finally {
      server.close();
    }
  });
});
