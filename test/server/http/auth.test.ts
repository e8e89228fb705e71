import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createKeyCheck } from '../../../src/server/http/auth.js';
import type { AuthOptions } from '../../../src/server/http/auth.js';
import { FailureThrottle } from '../../../src/server/http/throttle.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';

const KEY = 'qwk_auth_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';

/** A bare Koa app answering `{"client": ...}` for requests the key check lets through. */
async function withCheck(options: Partial<AuthOptions>, run: (url: string) => Promise<void>): Promise<void> {
  const store = new KeyStore();
  store.swap({ current: { key: KEY, source: 'file' } });
  const check = createKeyCheck({ store, ...options });
  const app = new Koa();
  app.use((ctx) => {
    if (check(ctx)) ctx.body = { client: ctx.state.apiClient };
  });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('auth: the key check', () => {
  it('works without metrics, passing and refusing', async () => {
    await withCheck({}, async (url) => {
      expect(await (await fetch(url, { headers: { 'X-API-Key': KEY } })).json()).to.deep.equal({ client: 'default' });
      expect((await fetch(url, { headers: { 'X-API-Key': 'wrong' } })).status).to.equal(401);
      expect((await fetch(url, { headers: { Authorization: 'Basic x' } })).status).to.equal(400);
    });
  });

  it('answers a malformed Authorization header with 400, its detail and an invalid_request challenge', async () => {
    await withCheck({ realm: 'r' }, async (url) => {
      const res = await fetch(url, { headers: { Authorization: 'Basic x' } });
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="r", error="invalid_request"');
      expect(await res.json()).to.deep.equal({ detail: 'Malformed Authorization header; send X-API-Key: KEY or Authorization: Bearer KEY' });
    });
  });

  it('answers a throttled client with 429, its detail and Retry-After, counting it as throttled', async () => {
    const reasons: string[] = [];
    const metrics = { authFailure: (reason: string) => reasons.push(reason), authenticated: () => undefined };
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 } });
    await withCheck({ throttle, metrics }, async (url) => {
      await (await fetch(url)).arrayBuffer();
      const res = await fetch(url);
      expect([res.status, res.headers.get('retry-after')]).to.deep.equal([429, '60']);
      expect(await res.json()).to.deep.equal({ detail: 'Too many failed authentication attempts' });
    });
    expect(reasons).to.deep.equal(['missing', 'throttled']);
  });

  it('throttles the IPv6 addresses of one /64 as one client', async () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 } });
    const check = createKeyCheck({ store: new KeyStore(), throttle });
    const app = new Koa();
    app.use((ctx) => {
      // The test's one loopback address stands in for the address each request names.
      Object.defineProperty(ctx.req.socket, 'remoteAddress', { value: ctx.get('x-test-peer'), configurable: true });
      if (check(ctx)) ctx.body = 'in';
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const from = async (peer: string): Promise<number> => {
        const res = await fetch(url, { headers: { 'X-Test-Peer': peer } });
        await res.arrayBuffer();
        return res.status;
      };
      expect([await from('2001:db8::1'), await from('2001:db8::2:1'), await from('2001:db8:0:1::1')]).to.deep.equal([401, 429, 401]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reads Authorization only when X-API-Key is absent or empty', async () => {
    await withCheck({}, async (url) => {
      expect((await fetch(url, { headers: { 'X-API-Key': '', Authorization: `Bearer ${KEY}` } })).status).to.equal(200);
      expect((await fetch(url, { headers: { 'X-API-Key': KEY, Authorization: 'Basic not-even-bearer' } })).status, 'X-API-Key wins').to.equal(200);
      expect((await fetch(url, { headers: { 'X-API-Key': 'wrong', Authorization: `Bearer ${KEY}` } })).status).to.equal(401);
    });
  });

  it('tells the metrics and the connection guard of a request that passes, with its client', async () => {
    const seen: unknown[] = [];
    const metrics = { authFailure: () => undefined, authenticated: (match: unknown) => seen.push(match) };
    let trusted = 0;
    await withCheck({ metrics, trustConnection: () => trusted++ }, async (url) => {
      await (await fetch(url, { headers: { 'X-API-Key': KEY } })).arrayBuffer();
      await (await fetch(url, { headers: { 'X-API-Key': 'wrong' } })).arrayBuffer();
    });
    expect([seen, trusted]).to.deep.equal([[{ client: 'default', key: 'current' }], 1]);
  });
});
