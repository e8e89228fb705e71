import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { Dispatcher, MockAgent } from 'undici';
import { probeUpstream } from '../../src/proxy/forwarder.js';
import { startUpstream, type Upstream } from './harness.js';

describe('probeUpstream', function () {
  this.timeout(15_000);
  let upstream: Upstream;

  before(async () => { upstream = await startUpstream(); });
  after(async () => { await upstream?.stop(); });

  it('reports any HTTP answer as reachable, with status and latency', async () => {
    const probe = await probeUpstream(new URL('/status/404', upstream.url), 2_000);
    assert.equal(probe.reachable, true);
    assert.equal(probe.status, 404);
    assert.equal(typeof probe.latencyMs, 'number');
  });

  it('reports a refused connection without throwing', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const probe = await probeUpstream(new URL(`http://127.0.0.1:${port}`), 2_000);
    assert.deepEqual(probe, { reachable: false, error: 'ECONNREFUSED' });
  });

  it('gives up after timeoutMs on an upstream that does not answer', async () => {
    const started = Date.now();
    const probe = await probeUpstream(new URL('/slow?ms=10000', upstream.url), 200);
    assert.equal(probe.reachable, false);
    assert.ok(Date.now() - started < 3_000);
  });
});

describe('probeUpstream: what it sends and reports', () => {
  const origin = 'http://backend.test';
  const mock = (): MockAgent => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    return agent;
  };

  it('sends a GET through the dispatcher given, and reports the status and the time to the headers', async () => {
    const agent = mock();
    agent.get(origin).intercept({ path: '/ready', method: 'GET' }).reply(204, '').delay(60);
    const probe = await probeUpstream(new URL('/ready', origin), 2_000, agent);
    assert.equal(probe.reachable, true);
    assert.equal(probe.status, 204);
    assert.ok(probe.latencyMs! >= 50 && probe.latencyMs! < 2_000, `latency ${probe.latencyMs}`);
    assert.equal(Number.isInteger(probe.latencyMs), true);
  });

  it('names a failure by the code of its cause when it has none itself', async () => {
    const agent = mock();
    const cause = Object.assign(new Error('no route'), { code: 'EHOSTUNREACH' });
    agent.get(origin).intercept({ path: '/', method: 'GET' }).replyWithError(new Error('fetch failed', { cause }));
    assert.deepEqual(await probeUpstream(new URL('/', origin), 2_000, agent), { reachable: false, error: 'EHOSTUNREACH' });
  });

  it('names a failure without any code by its kind, and one that is not an error at all as unknown', async () => {
    const agent = mock();
    agent.get(origin).intercept({ path: '/', method: 'GET' }).replyWithError(new TypeError('plain'));
    assert.deepEqual(await probeUpstream(new URL('/', origin), 2_000, agent), { reachable: false, error: 'TypeError' });
    class Throwing extends Dispatcher {
      override dispatch(): boolean {
        throw 'not an error';
      }
    }
    assert.deepEqual(await probeUpstream(new URL('/', origin), 2_000, new Throwing()), { reachable: false, error: 'unknown error' });
  });

  it('closes its connection once answered, so health checks never hold one open', async () => {
    const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const probe = await probeUpstream(new URL(`http://127.0.0.1:${port}/`), 2_000);
      assert.equal(probe.status, 200);
      const deadline = Date.now() + 2_000;
      let open = 1;
      while (open > 0 && Date.now() < deadline) {
        open = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
        if (open > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(open, 0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
