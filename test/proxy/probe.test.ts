import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
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
