import assert from 'node:assert/strict';
import { startProxy, startUpstream, type Upstream } from './harness.js';

interface Echo { headers: Record<string, string>; rawHeaders: string[] }

describe('proxy: the client\'s name to the backend', function () {
  this.timeout(30_000);
  let upstream: Upstream;
  before(async () => { upstream = await startUpstream(); });
  after(async () => { await upstream?.stop(); });

  it('sends the authenticated client in X-Api-Client, never the one a client sent', async () => {
    const proxy = await startProxy({ upstream: upstream.url }, (ctx, next) => {
      ctx.state.apiClient = 'alice';
      return next();
    });
    try {
      const res = await fetch(`${proxy.url}/api/v1/edit`, { headers: { 'X-Api-Client': 'admin', 'x-api-client': 'root' } });
      const echo = (await res.json()) as Echo;
      assert.equal(echo.headers['x-api-client'], 'alice');
      assert.deepEqual(echo.rawHeaders.filter((h) => h.toLowerCase() === 'x-api-client'), ['x-api-client']);
    } finally {
      await proxy.close();
    }
  });

  it('strips a client\'s X_Api_Client, which WSGI would merge with the real one (HTTP_X_API_CLIENT)', async () => {
    const proxy = await startProxy({ upstream: upstream.url }, (ctx, next) => {
      ctx.state.apiClient = 'alice';
      return next();
    });
    try {
      const res = await fetch(`${proxy.url}/api/v1/edit`, { headers: { X_Api_Client: 'bob' } });
      const echo = (await res.json()) as Echo;
      const sent = echo.rawHeaders.filter((_, i) => i % 2 === 0).filter((h) => h.toLowerCase().replaceAll('_', '-') === 'x-api-client');
      assert.deepEqual(sent, ['x-api-client']);
      assert.equal(echo.headers['x-api-client'], 'alice');
    } finally {
      await proxy.close();
    }
  });

  it('uses the configured header name, and still strips a client\'s copy of it', async () => {
    const proxy = await startProxy({ upstream: upstream.url, clientHeader: 'X-Consumer' }, (ctx, next) => {
      ctx.state.apiClient = 'default';
      return next();
    });
    try {
      const echo = (await (await fetch(`${proxy.url}/api/v1/edit`, { headers: { 'X-Consumer': 'admin' } })).json()) as Echo;
      assert.equal(echo.headers['x-consumer'], 'default');
    } finally {
      await proxy.close();
    }
  });
});
