import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKey } from '../../../src/core/key.js';
import { keyFileWith, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';

/** One request's fate: answered (status, body complete or cut) or failed before any answer. */
interface Outcome { id: string; path: string; sentAt: number; status?: number; complete?: boolean; error?: string; connection?: string }

const CLIENTS = 16;
const UPSTREAM_DELAY_MS = 25;

/** GET `path` on `agent`'s connection; never rejects. */
function attempt(port: number, agent: Agent, key: string, path: string): Promise<Outcome> {
  const outcome: Outcome = { id: randomUUID(), path, sentAt: performance.now() };
  return new Promise((resolve) => {
    const headers = { 'X-API-Key': key, 'X-Request-Id': outcome.id };
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      outcome.status = res.statusCode;
      outcome.connection = res.headers.connection;
      outcome.complete = false;
      res.resume();
      res.on('end', () => { outcome.complete = res.complete; resolve(outcome); });
      res.on('error', () => resolve(outcome));
      res.on('aborted', () => resolve(outcome));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // After the answer began, `complete` stays false, which the test counts as a failure.
      if (outcome.status === undefined) outcome.error = err.code ?? err.message;
      resolve(outcome);
    });
    req.end();
  });
}

/** One keep-alive client: requests back to back on its own connection until the first failure or the deadline. */
async function client(port: number, key: string, path: string, until: number): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const outcomes: Outcome[] = [];
  try {
    while (performance.now() < until) {
      const outcome = await attempt(port, agent, key, path);
      outcomes.push(outcome);
      if (outcome.error !== undefined) break;
    }
  } finally {
    agent.destroy();
  }
  return outcomes;
}

describe('server process: SIGTERM under load', () => {
  it('completes every request it accepted, refuses the rest with a connection error, and exits 0', async function () {
    this.timeout(15_000);
    const { dir, cleanup } = await tempDir();
    const key = generateKey();
    registerSecret(key);
    // Forwarded requests sit in the server for a while, so some are surely in flight at the signal;
    // the upstream's record of request ids proves which ones the server had accepted.
    const reachedUpstream = new Set<string>();
    // The signal is sent from inside the upstream while it holds a request, so that one is surely in flight.
    let signal: (() => void) | undefined;
    let inFlightAtSignal: string | undefined;
    let shuttingDown: () => Promise<unknown> = () => Promise.resolve();
    const upstream = createServer((req, res) => {
      const id = req.headers['x-request-id'];
      // The daemon's own health probes carry no request id; forwarded requests do.
      if (typeof id === 'string') reachedUpstream.add(id);
      // Once more requests than clients got through: the load is on, whatever the machine's speed.
      if (signal && typeof id === 'string' && reachedUpstream.size > CLIENTS) {
        inFlightAtSignal = id;
        signal();
        signal = undefined;
        // Answered only once the daemon is draining: a signal takes a while to be handled on a busy machine.
        void shuttingDown().then(() => res.end('{}'), () => res.end('{}'));
        return;
      }
      setTimeout(() => res.end('{}'), UPSTREAM_DELAY_MS);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const server = await spawnServer({ args: ['--port', '0', '--key-file', await keyFileWith(dir, key), '--upstream', upstreamUrl] });
    shuttingDown = () => server.waitForLine((line) => line.message === 'shutting down', 5000);
    try {
      const until = performance.now() + 5000;
      const clients = Array.from({ length: CLIENTS }, (_, i) => client(server.port, key, i % 2 ? '/api/v1/health' : '/api/v1/edit', until));
      let signalledAt = 0;
      await new Promise<void>((resolve) => {
        signal = () => {
          signalledAt = performance.now();
          server.child.kill('SIGTERM');
          resolve();
        };
      });
      const { code } = await server.exited;
      const drainMs = performance.now() - signalledAt;
      const outcomes = (await Promise.all(clients)).flat();

      expect(code).to.equal(0);
      expect(drainMs).to.be.below(3000);
      const answered = outcomes.filter((o) => o.status !== undefined);
      expect(answered.filter((o) => o.path === '/api/v1/edit').length).to.be.above(CLIENTS);
      expect(answered.filter((o) => o.status !== 200 || o.complete !== true)).to.deep.equal([]);
      // An answer finished during the drain tells its keep-alive client to reconnect elsewhere.
      const drained = outcomes.find((o) => o.id === inFlightAtSignal);
      expect([drained?.status, drained?.complete, drained?.connection]).to.deep.equal([200, true, 'close']);
      expect(answered.filter((o) => o.connection === 'close' && o.sentAt < signalledAt - 100 && o.path === '/api/v1/health')).to.deep.equal([]);
      const accepted = outcomes.filter((o) => reachedUpstream.has(o.id));
      expect(accepted.filter((o) => o.status !== 200 || o.complete !== true)).to.deep.equal([]);
      // The rest only get connection errors, and only around or after the signal (one sent just before may arrive after it).
      const failed = outcomes.filter((o) => o.error !== undefined);
      for (const o of failed) expect(o.error).to.be.oneOf(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);
      expect(failed.filter((o) => o.sentAt < signalledAt - 100)).to.deep.equal([]);
    } finally {
      await server.stop('SIGKILL');
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
      await cleanup();
    }
  });
});
