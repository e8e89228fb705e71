import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startProxy, startUpstream, upstreamSaw, waitFor, type Upstream } from './harness.js';

const MiB = 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const FAKE_KEY = 'qwk_test-only-not-a-real-key-0123456789abcdef';

interface Echo {
  method: string; path: string; query: string; headers: Record<string, string>;
  bodyLength: number; bodySha256: string;
}

/** The 1 MiB block the fixture's /big repeats (byte i is i % 251). */
function bigBlock(): Buffer {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i++) block[i] = i % 251;
  return block;
}

describe('proxy: forwarding to a real upstream', function () {
  this.timeout(30_000);
  let upstream: Upstream;
  let client: Agent;

  before(async () => { upstream = await startUpstream(); client = new Agent(); });
  after(async () => { await client?.close(); await upstream?.stop(); });

  it('streams a 30 MB upload byte-exact, reaching the upstream before the client has finished', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const id = `upload-${randomUUID()}`;
      const block = randomBytes(MiB); // random, so a digest match proves every byte arrived in order
      const expected = createHash('sha256');
      for (let i = 0; i < 30; i++) expected.update(block);
      // Live memory (after a forced GC) mid-upload; RSS alone mostly measures garbage not yet collected.
      const live = (): number => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
      const before = live();
      let peak = before;
      let firstSeenUpstream = false;
      async function* body(): AsyncGenerator<Buffer> {
        yield block;
        // A buffering proxy would never pass this point: the upstream must see bytes mid-upload.
        await waitFor('upstream to start receiving', async () => ((await upstreamSaw(upstream.url, id))?.received ?? 0) > 0 || undefined);
        firstSeenUpstream = true;
        for (let i = 1; i < 30; i++) {
          if (i % 5 === 0) peak = Math.max(peak, live());
          yield block;
        }
      }
      const started = performance.now();
      const res = await request(`${proxy.url}/api/v1/upload`, {
        method: 'POST', dispatcher: client, body: Readable.from(body()),
        headers: { 'content-type': 'application/octet-stream', 'x-request-id': id },
      });
      const echo = await res.body.json() as Echo;
      const seconds = (performance.now() - started) / 1000;
      if (process.env["PROXY_TEST_VERBOSE"]) console.log(`upload: ${(30 / seconds).toFixed(0)} MiB/s, live memory +${((peak - before) / MiB).toFixed(1)} MiB`);
      assert.equal(res.statusCode, 200);
      assert.equal(firstSeenUpstream, true);
      assert.equal(echo.bodyLength, 30 * MiB);
      assert.equal(echo.bodySha256, expected.digest('hex'));
      assert.equal(echo.headers['transfer-encoding'], 'chunked');
      // Loose: the whole body held in memory would add at least 30 MB.
      assert.ok(peak - before < 16 * MiB, `live memory grew by ${((peak - before) / MiB).toFixed(1)} MiB in ${seconds.toFixed(2)} s`);
    } finally {
      await proxy.close();
    }
  });

  it('streams a 30 MB download back byte-exact', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const res = await request(`${proxy.url}/api/v1/big?mb=30`, { dispatcher: client });
      const hash = createHash('sha256');
      let length = 0;
      for await (const chunk of res.body) { hash.update(chunk as Buffer); length += (chunk as Buffer).length; }
      const expected = createHash('sha256');
      const block = bigBlock();
      for (let i = 0; i < 30; i++) expected.update(block);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(30 * MiB));
      assert.equal(length, 30 * MiB);
      assert.equal(hash.digest('hex'), expected.digest('hex'));
    } finally {
      await proxy.close();
    }
  });

  it('never forwards X-API-Key or Authorization', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const res = await request(`${proxy.url}/api/v1/edit`, {
        dispatcher: client, headers: { 'x-api-key': FAKE_KEY, authorization: `Bearer ${FAKE_KEY}` },
      });
      const echo = await res.body.json() as Echo;
      assert.equal(res.statusCode, 200);
      for (const name of ['x-api-key', 'authorization']) assert.equal(name in echo.headers, false, name);
      assert.equal(JSON.stringify(echo).includes(FAKE_KEY), false);
    } finally {
      await proxy.close();
    }
  });

  it('keeps method, path, query and end-to-end headers; appends the path to the upstream prefix', async () => {
    const proxy = await startProxy({ upstream: new URL('/base/', upstream.url) });
    try {
      const res = await request(`${proxy.url}/api/v1/images/edit?steps=20&tag=a%20b&tag=c`, {
        method: 'PATCH', dispatcher: client, body: '{"prompt":"x"}',
        headers: { 'content-type': 'application/json', 'x-custom': 'kept', accept: 'image/png' },
      });
      const echo = await res.body.json() as Echo;
      assert.equal(echo.method, 'PATCH');
      assert.equal(echo.path, '/base/api/v1/images/edit');
      assert.equal(echo.query, '?steps=20&tag=a%20b&tag=c');
      for (const [name, value] of Object.entries({ 'content-type': 'application/json', 'x-custom': 'kept', accept: 'image/png' })) {
        assert.equal(echo.headers[name], value, name);
      }
      assert.equal(echo.headers['host'], upstream.url.host);
      assert.equal(echo.bodySha256, createHash('sha256').update('{"prompt":"x"}').digest('hex'));
    } finally {
      await proxy.close();
    }
  });

  it('drops hop-by-hop headers, including those named in Connection', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const echo = await new Promise<Echo>((resolve, reject) => {
        const req = httpRequest(`${proxy.url}/api/v1/edit`, {
          headers: { connection: 'keep-alive, x-hop', 'keep-alive': 'timeout=5', 'x-hop': '1', te: 'trailers', 'proxy-authorization': 'Basic eA==', 'x-end': '1' },
        }, (res) => { let text = ''; res.on('data', (c) => { text += c; }); res.on('end', () => resolve(JSON.parse(text) as Echo)); });
        req.on('error', reject);
        req.end();
      });
      for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(name in echo.headers, false, name);
      assert.equal(echo.headers['x-end'], '1');
    } finally {
      await proxy.close();
    }
  });

  it('adds X-Forwarded-For/Proto/Host and a sane client X-Request-Id, echoed in the response', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const res = await request(`${proxy.url}/api/v1/edit`, {
        dispatcher: client, headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'client-id-1' },
      });
      const echo = await res.body.json() as Echo;
      assert.equal(echo.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
      assert.equal(echo.headers['x-forwarded-proto'], 'http');
      assert.equal(echo.headers['x-forwarded-host'], new URL(proxy.url).host);
      assert.equal(echo.headers['x-request-id'], 'client-id-1');
      assert.equal(res.headers['x-request-id'], 'client-id-1');
    } finally {
      await proxy.close();
    }
  });

  it('prefers ctx.state.requestId, and replaces an insane client id with a generated one', async () => {
    const proxy = await startProxy({ upstream: upstream.url }, async (ctx, next) => {
      if (ctx.path.endsWith('/from-app')) ctx.state['requestId'] = 'app-id-7';
      await next();
    });
    try {
      const fromApp = await request(`${proxy.url}/api/v1/from-app`, { dispatcher: client, headers: { 'x-request-id': 'client' } });
      assert.equal((await fromApp.body.json() as Echo).headers['x-request-id'], 'app-id-7');
      assert.equal(fromApp.headers['x-request-id'], 'app-id-7');
      const insane = await request(`${proxy.url}/api/v1/edit`, { dispatcher: client, headers: { 'x-request-id': 'bad id<script>' } });
      const sent = (await insane.body.json() as Echo).headers['x-request-id'];
      assert.match(sent, /^[0-9a-f-]{36}$/);
      assert.equal(insane.headers['x-request-id'], sent);
    } finally {
      await proxy.close();
    }
  });

  it('answers HEAD with the upstream headers and no body', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const res = await request(`${proxy.url}/api/v1/big?mb=2`, { method: 'HEAD', dispatcher: client });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(2 * MiB));
      assert.equal((await res.body.arrayBuffer()).byteLength, 0);
      const after = await request(`${proxy.url}/api/v1/status/204`, { dispatcher: client });
      assert.equal(after.statusCode, 204);
    } finally {
      await proxy.close();
    }
  });

  it('keeps the client connection alive across bodiless answers (204, 304, HEAD) and ordinary ones', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    let connections = 0;
    proxy.server.on('connection', () => { connections++; });
    // node:http's agent, which keeps a connection open whatever a 204 says about Content-Length.
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const get = (method: string, path: string): Promise<number> => new Promise((resolve, reject) => {
      httpRequest(`${proxy.url}${path}`, { method, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject).end();
    });
    try {
      for (const [method, path, status] of [
        ['GET', '/api/v1/status/204', 204], ['GET', '/api/v1/status/304', 304], ['HEAD', '/api/v1/big?mb=1', 200],
        ['GET', '/api/v1/x', 200], ['GET', '/api/v1/status/204', 204], ['GET', '/api/v1/x', 200],
      ] as const) {
        assert.equal(await get(method, path), status, `${method} ${path}`);
      }
      assert.equal(connections, 1);
      assert.equal(proxy.logs.filter((l) => l.includes('upstream response aborted')).length, 0);
    } finally {
      agent.destroy();
      await proxy.close();
    }
  });

  it('passes upstream statuses and headers through', async () => {
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const res = await request(`${proxy.url}/api/v1/status/418`, { dispatcher: client });
      assert.equal(res.statusCode, 418);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(await res.body.json(), { status: 418 });
    } finally {
      await proxy.close();
    }
  });
});

