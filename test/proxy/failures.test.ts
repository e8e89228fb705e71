import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startProxy, startUpstream, upstreamSaw, waitFor, type Upstream } from './harness.js';

const MiB = 1024 * 1024;

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('proxy: failures answered as JSON', function () {
  this.timeout(20_000);
  let upstream: Upstream;
  let client: Agent;

  before(async () => { upstream = await startUpstream(); client = new Agent(); });
  after(async () => { await client?.close(); await upstream?.stop(); });

  it('answers 502 when the upstream refuses connections', async () => {
    const proxy = await startProxy({ upstream: new URL(`http://127.0.0.1:${await closedPort()}`) });
    try {
      const res = await request(`${proxy.url}/api/v1/edit`, { dispatcher: client });
      assert.equal(res.statusCode, 502);
      assert.deepEqual(await res.body.json(), { detail: 'Upstream unavailable' });
      assert.ok(proxy.logs.some((line) => line.includes('ECONNREFUSED')));
    } finally {
      await proxy.close();
    }
  });

  it('answers 502 when the upstream resets the connection', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const res = await request(`${proxy.url}/api/v1/reset`, { dispatcher: client, method: 'POST', body: 'x' });
      assert.equal(res.statusCode, 502);
      assert.deepEqual(await res.body.json(), { detail: 'Upstream unavailable' });
    } finally {
      await proxy.close();
    }
  });

  it('answers 504 when the upstream is slower than timeoutMs', async () => {
    const proxy = await startProxy({ upstream: upstream.url, timeoutMs: 200 });
    try {
      const started = Date.now();
      const res = await request(`${proxy.url}/api/v1/slow?ms=10000`, { dispatcher: client });
      assert.equal(res.statusCode, 504);
      assert.deepEqual(await res.body.json(), { detail: 'Upstream timed out' });
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await proxy.close();
    }
  });

  it('cuts off a response body that goes idle longer than timeoutMs', async () => {
    const proxy = await startProxy({ upstream: upstream.url, timeoutMs: 300 });
    try {
      const res = await request(`${proxy.url}/api/v1/stream?chunks=3&ms=2000`, { dispatcher: client });
      assert.equal(res.statusCode, 200);
      await assert.rejects(res.body.text());
    } finally {
      await proxy.close();
    }
  });

  it('answers 413 by Content-Length without contacting the upstream', async () => {
    const proxy = await startProxy({ upstream: upstream.url, maxBodyBytes: MiB });
    try {
      const id = `too-big-${randomUUID()}`;
      const res = await request(`${proxy.url}/api/v1/upload`, {
        method: 'POST', dispatcher: client, body: Buffer.alloc(2 * MiB), headers: { 'x-request-id': id },
      });
      assert.equal(res.statusCode, 413);
      assert.deepEqual(await res.body.json(), { detail: 'Request body too large' });
      assert.equal(res.headers['x-request-id'], id);
      assert.equal(await upstreamSaw(upstream.url, id), undefined);
    } finally {
      await proxy.close();
    }
  });

  it('answers 413 once a chunked body passes the limit, and aborts the upstream request', async () => {
    const proxy = await startProxy({ upstream: upstream.url, maxBodyBytes: MiB });
    try {
      const id = `chunked-${randomUUID()}`;
      const chunk = Buffer.alloc(256 * 1024);
      async function* endless(): AsyncGenerator<Buffer> { for (;;) yield chunk; }
      const res = await request(`${proxy.url}/api/v1/upload`, {
        method: 'POST', dispatcher: client, body: Readable.from(endless()), headers: { 'x-request-id': id },
      });
      assert.equal(res.statusCode, 413);
      assert.deepEqual(await res.body.json(), { detail: 'Request body too large' });
      const seen = await waitFor('upstream to see the abort', async () => {
        const record = await upstreamSaw(upstream.url, id);
        return record?.state === 'aborted' ? record : undefined;
      });
      assert.ok(seen.received <= MiB);
    } finally {
      await proxy.close();
    }
  });

  it('aborts the upstream request when the client goes away', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const id = `abort-${randomUUID()}`;
      const req = httpRequest(`${proxy.url}/api/v1/slow?ms=15000`, { headers: { 'x-request-id': id } });
      req.on('error', () => {});
      req.end();
      await waitFor('upstream to receive the request', async () => ((await upstreamSaw(upstream.url, id))?.state === 'open') || undefined);
      req.destroy();
      await waitFor('upstream to see the close', async () => ((await upstreamSaw(upstream.url, id))?.state === 'aborted') || undefined);
      assert.ok(proxy.logs.some((line) => line.includes('client closed request')));
    } finally {
      await proxy.close();
    }
  });

  it('rejects dot segments that would leave the forwarded path', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      for (const path of ['/api/v1/../admin', '/api/v1/%2e%2e/admin']) {
        const res = await client.request({ origin: proxy.url, path, method: 'GET' }); // path as-is, not normalised by URL
        assert.equal(res.statusCode, 400, path);
        assert.deepEqual(await res.body.json(), { detail: 'Invalid request path' });
      }
    } finally {
      await proxy.close();
    }
  });

  it('close() lets a request in flight finish', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const id = `drain-${randomUUID()}`;
      const pending = request(`${proxy.url}/api/v1/slow?ms=300`, { dispatcher: client, headers: { 'x-request-id': id } });
      await waitFor('upstream to receive the request', async () => ((await upstreamSaw(upstream.url, id))?.state === 'open') || undefined);
      const closed = proxy.forwarder.close();
      const res = await pending;
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as { path: string }).path, '/api/v1/slow');
      await closed;
    } finally {
      await proxy.close();
    }
  });
});
