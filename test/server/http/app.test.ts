import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { FailureThrottle } from '../../../src/server/http/throttle.js';
import { createUpstreamMonitor } from '../../../src/proxy/upstream-monitor.js';
import { createForwarder } from '../../../src/proxy/forwarder.js';
import { createApp } from '../../../src/server/http/app.js';
import { createMetrics } from '../../../src/server/http/metrics.js';
import { KEY, OLD_KEY, startApp } from '../../helpers/app-server.js';
import { rawRequest } from '../../helpers/raw-http.js';
import { captureLogger } from '../reload/helpers.js';

const withKey = (key: string): RequestInit => ({ headers: { 'X-API-Key': key } });

describe('app: key check', () => {
  it('accepts X-API-Key and Bearer, refuses others with 401 and WWW-Authenticate', async () => {
    const app = await startApp();
    try {
      expect((await fetch(`${app.url}/api/v1/health`, withKey(KEY))).status).to.equal(200);
      expect((await fetch(`${app.url}/api/v1/health`, { headers: { Authorization: `BEARER ${KEY}` } })).status).to.equal(200);
      const wrong = await fetch(`${app.url}/api/v1/health`, withKey(KEY + 'x'));
      expect(wrong.status).to.equal(401);
      expect(wrong.headers.get('www-authenticate')).to.equal('Bearer realm="qwen-api"');
      expect(await wrong.json()).to.deep.equal({ detail: 'Invalid or missing API key' });
    } finally {
      await app.close();
    }
  });

  it('answers a malformed Authorization header with 400 JSON', async () => {
    const app = await startApp();
    try {
      const res = await fetch(`${app.url}/api/v1/health`, { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
      expect(res.status).to.equal(400);
      expect(await res.json()).to.have.property('detail');
    } finally {
      await app.close();
    }
  });

  it('accepts the previous key inside its window and counts it', async () => {
    let now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD_KEY, until: new Date(now + 60_000) } });
    const app = await startApp({ store, clock: () => now });
    try {
      expect((await fetch(`${app.url}/api/v1/health`, withKey(OLD_KEY))).status).to.equal(200);
      const health = (await (await fetch(`${app.url}/api/v1/health`, withKey(KEY))).json()) as { previousKey: { active: boolean } };
      expect(health.previousKey.active).to.equal(true);
      const metrics = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(metrics).to.match(/qwen_auth_previous_key_total 1\b/);
      expect(metrics).to.match(/qwen_previous_key_active 1\b/);
      now += 60_001;
      expect((await fetch(`${app.url}/api/v1/health`, withKey(OLD_KEY))).status).to.equal(401);
    } finally {
      await app.close();
    }
  });

  it('throttles repeated failures per client with 429 and Retry-After, never a valid key', async () => {
    const throttle = new FailureThrottle({ rate: { count: 3, periodMs: 60_000 } });
    const app = await startApp({ throttle });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${app.url}/api/v1/health`, withKey('nope'))).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      const throttled = await fetch(`${app.url}/metrics`);
      expect(throttled.status).to.equal(429);
      expect(Number(throttled.headers.get('retry-after'))).to.be.greaterThan(0);
      expect(await throttled.json()).to.have.property('detail');
      expect((await fetch(`${app.url}/api/v1/health`, withKey(KEY))).status).to.equal(200);
      const metrics = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(metrics).to.match(/qwen_auth_failures_total\{reason="throttled"\} 3\b/);
    } finally {
      await app.close();
    }
  });
});

describe('app: routes', () => {
  it('health follows a key swap at once, though its text is cached per second', async () => {
    const now = 5_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: OLD_KEY, source: 'file' } });
    const app = await startApp({ store, clock: () => now });
    try {
      const before = (await (await fetch(`${app.url}/api/v1/health`, withKey(OLD_KEY))).json()) as { key: { fingerprint: string } };
      store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD_KEY, until: new Date(now + 1000) } });
      const after = (await (await fetch(`${app.url}/api/v1/health`, withKey(KEY))).json()) as { key: { fingerprint: string }; previousKey: { fingerprint: string } };
      expect(after.key.fingerprint).to.not.equal(before.key.fingerprint);
      expect(after.previousKey.fingerprint).to.equal(before.key.fingerprint);
    } finally {
      await app.close();
    }
  });

  it('writes health itself: JSON, no-store, exact Content-Length, HEAD without a body, Connection: close while draining', async () => {
    const app = await startApp();
    const agent = new HttpAgent({ keepAlive: true });
    const get = (method: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> => new Promise((resolve, reject) => {
      httpRequest(`${app.url}/api/v1/health`, { method, headers: { 'X-API-Key': KEY, 'X-Request-Id': 'h-1' }, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }).on('error', reject).end();
    });
    try {
      const full = await get('GET');
      expect(full.status).to.equal(200);
      expect(full.headers).to.include({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': 'h-1' });
      expect(Number(full.headers['content-length'])).to.equal(Buffer.byteLength(full.body));
      expect((JSON.parse(full.body) as { status: string }).status).to.equal('ok');
      const head = await get('HEAD');
      expect(head.status).to.equal(200);
      expect(head.body).to.equal('');
      expect(head.headers['content-length']).to.equal(full.headers['content-length']);
      expect(full.headers.connection).to.not.equal('close');
      app.status.accepting = false;
      expect((await get('GET')).headers.connection).to.equal('close');
      const text = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(text).to.include('qwen_http_requests_total{route="/api/v1/health",code="200"} 3');
    } finally {
      agent.destroy();
      await app.close();
    }
  });

  it('/readyz is 503 JSON without a key and while shutting down', async () => {
    const app = await startApp({ noKey: true });
    try {
      const res = await fetch(`${app.url}/readyz`);
      expect(res.status).to.equal(503);
      expect(await res.json()).to.deep.equal({ detail: 'No valid API key loaded' });
      expect((await fetch(`${app.url}/livez`)).status).to.equal(200);
      app.store.swap({ current: { key: KEY, source: 'file' } });
      expect((await fetch(`${app.url}/readyz`)).status).to.equal(200);
      app.status.accepting = false;
      const stopping = await fetch(`${app.url}/readyz`);
      expect(stopping.status).to.equal(503);
      expect(await stopping.json()).to.deep.equal({ detail: 'Shutting down' });
    } finally {
      await app.close();
    }
  });

  it('/readyz requires a reachable upstream only when asked to; health never fails for it', async () => {
    const upstream = createUpstreamMonitor({ url: new URL('http://127.0.0.1:9'), probe: async () => ({ reachable: false, error: 'ECONNREFUSED' }) });
    const relaxed = await startApp({ upstream });
    const strict = await startApp({ upstream, readyRequiresUpstream: true });
    try {
      expect((await fetch(`${relaxed.url}/readyz`)).status).to.equal(200);
      expect((await fetch(`${strict.url}/readyz`)).status).to.equal(503);
      const health = await fetch(`${strict.url}/api/v1/health`, withKey(KEY));
      expect(health.status).to.equal(200);
      expect(((await health.json()) as { upstream: unknown }).upstream).to.include({ configured: true, reachable: false, url: 'http://127.0.0.1:9' });
    } finally {
      await Promise.all([relaxed.close(), strict.close()]);
    }
  });

  it('hands authenticated /api/v1 requests to the forward seam, and only those', async () => {
    const seen: string[] = [];
    const app = await startApp({
      forward: async (ctx) => {
        seen.push(`${ctx.method} ${ctx.path} ${String(ctx.state.requestId)}`);
        ctx.body = { forwarded: true };
      },
    });
    try {
      expect((await fetch(`${app.url}/api/v1/images/edit`, { method: 'POST' })).status).to.equal(401);
      const res = await fetch(`${app.url}/api/v1/images/edit`, { method: 'POST', headers: { 'X-API-Key': KEY, 'X-Request-Id': 'r1' } });
      expect(res.status).to.equal(200);
      expect(seen).to.deep.equal(['POST /api/v1/images/edit r1']);
      expect((await fetch(`${app.url}/api/v1/health`, { method: 'POST', headers: { 'X-API-Key': KEY } })).status).to.equal(405);
      expect(seen).to.have.length(1);
    } finally {
      await app.close();
    }
  });

  it('turns a failing handler into a generic 500 JSON and logs it', async () => {
    const app = await startApp({ forward: async () => { throw new Error('secret internals'); } });
    try {
      const res = await fetch(`${app.url}/api/v1/x`, withKey(KEY));
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ detail: 'Internal server error' });
      expect(app.logs.some((l) => l.level === 'error' && String(l.error).includes('secret internals'))).to.equal(true);
    } finally {
      await app.close();
    }
  });

  it('counts a request whose handler threw under its route, as the 500 it was answered with', async () => {
    const app = await startApp({ forward: async () => { throw new Error('boom'); } });
    try {
      const res = await fetch(`${app.url}/api/v1/x`, withKey(KEY));
      expect(res.status).to.equal(500);
      expect(res.headers.get('x-request-id')).to.be.a('string');
      const text = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(text).to.include('qwen_http_requests_total{route="/api/v1/*",code="500"} 1');
    } finally {
      await app.close();
    }
  });

  it('routes exactly: no trailing slash, no other case; HEAD like GET; a wrong method is 405 after the key check', async () => {
    const app = await startApp();
    try {
      // Not the daemon's routes: unknown paths are 404; under /api/v1 they are for the upstream (none here: 503).
      for (const [path, status] of [['/livez/', 404], ['/LIVEZ', 404], ['/metrics/', 404], ['/api/v1/Health', 503]] as const) {
        const res = await fetch(app.url + path, withKey(KEY));
        expect(res.status, path).to.equal(status);
      }
      expect((await fetch(`${app.url}/api/v1/health`, { method: 'HEAD', ...withKey(KEY) })).status).to.equal(200);
      expect((await fetch(`${app.url}/metrics`, { method: 'DELETE' })).status).to.equal(401);
      const wrong = await fetch(`${app.url}/metrics`, { method: 'DELETE', ...withKey(KEY) });
      expect(wrong.status).to.equal(405);
      expect(wrong.headers.get('allow')).to.equal('GET, HEAD');
      const text = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(text).to.include('qwen_http_requests_total{route="/metrics",code="405"} 1');
      expect(text).to.include('qwen_http_requests_total{route="/api/v1/health",code="200"} 1');
    } finally {
      await app.close();
    }
  });

  it('counts requests by route pattern, unknown paths as "other"', async () => {
    const app = await startApp();
    try {
      for (const path of ['/livez', '/livez', '/a/1', '/a/2']) await (await fetch(app.url + path)).arrayBuffer();
      const text = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(text).to.include('qwen_http_requests_total{route="/livez",code="200"} 2');
      expect(text).to.include('qwen_http_requests_total{route="other",code="404"} 2');
      expect(text).to.not.include('/a/1');
    } finally {
      await app.close();
    }
  });

  it('makes request ids only where they are recorded: access lines, failures; echoes a client\'s always', async () => {
    const quiet = await startApp({ level: 'info', forward: async () => { throw new Error('boom'); } });
    const logged = await startApp({ level: 'http' });
    try {
      expect((await fetch(`${quiet.url}/api/v1/health`, withKey(KEY))).headers.get('x-request-id')).to.equal(null);
      const echoed = await fetch(`${quiet.url}/api/v1/health`, { headers: { 'X-API-Key': KEY, 'X-Request-Id': 'abc-1' } });
      expect(echoed.headers.get('x-request-id')).to.equal('abc-1');
      const failed = await fetch(`${quiet.url}/api/v1/x`, withKey(KEY));
      expect(failed.status).to.equal(500);
      const id = failed.headers.get('x-request-id');
      expect(id).to.match(/^[0-9a-f-]{36}$/);
      expect(quiet.logs.some((l) => l.message === 'request failed' && l.requestId === id)).to.equal(true);
      expect((await fetch(`${logged.url}/livez`)).headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    } finally {
      await Promise.all([quiet.close(), logged.close()]);
    }
  });

  it('writes no access line at the default info level', async () => {
    const app = await startApp({ level: 'info' });
    try {
      await (await fetch(`${app.url}/livez`)).arrayBuffer();
      expect(app.logs.filter((l) => l.message === 'request')).to.deep.equal([]);
    } finally {
      await app.close();
    }
  });
});

describe('app: the request frame', () => {
  it('trusts no X-Forwarded-* header from clients: the host and protocol it sees are the connection\'s', async () => {
    const app = await startApp({ forward: async (ctx) => { ctx.body = { host: ctx.host, protocol: ctx.protocol, ip: ctx.ip }; } });
    try {
      const res = await fetch(`${app.url}/api/v1/x`, {
        headers: { 'X-API-Key': KEY, 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '6.6.6.6' },
      });
      expect(await res.json()).to.deep.equal({ host: `127.0.0.1:${app.port}`, protocol: 'http', ip: '127.0.0.1' });
    } finally {
      await app.close();
    }
  });

  it('writes one access line per request at http level: id, method, path without the query, route, status, ms, client', async () => {
    const app = await startApp({ level: 'http' });
    try {
      await (await fetch(`${app.url}/livez?token=secret`, { headers: { 'X-Request-Id': 'access-1' } })).arrayBuffer();
      const lines = app.logs.filter((l) => l.message === 'request');
      expect(lines).to.have.length(1);
      const { ms, timestamp: _time, ...rest } = lines[0]!;
      expect(rest).to.deep.equal({
        level: 'http', message: 'request', requestId: 'access-1', method: 'GET', path: '/livez', route: '/livez', status: 200, client: '127.0.0.1',
      });
      expect(ms).to.be.a('number').and.at.least(0).and.below(10_000);
      expect(String(ms)).to.match(/^\d+(\.\d{1,2})?$/);
    } finally {
      await app.close();
    }
  });

  it('logs and counts a forwarded request whose client left before the answer as 499', async () => {
    let arrived = 0;
    const upstream = createServer(() => { arrived++; }); // never answers
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const forward = createForwarder({
      upstream: new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`), timeoutMs: 10_000, maxBodyBytes: 1024, logger: captureLogger().logger,
    });
    const app = await startApp({ level: 'http', forward });
    try {
      const controller = new AbortController();
      const gone = fetch(`${app.url}/api/v1/edit`, { ...withKey(KEY), signal: controller.signal }).catch(() => undefined);
      const deadline = Date.now() + 5000;
      while (arrived === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      await gone;
      while (!app.logs.some((l) => l.message === 'request') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      const line = app.logs.find((l) => l.message === 'request');
      expect([line?.status, line?.route]).to.deep.equal([499, '/api/v1/*']);
      const metrics = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(metrics).to.include('qwen_http_requests_total{route="/api/v1/*",code="499"} 1');
    } finally {
      await app.close();
      await forward.destroy();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it('measures the time to the answer in ms, to the hundredth', async () => {
    const app = await startApp({ level: 'http', forward: async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 25));
      ctx.body = 'slow';
    } });
    try {
      await (await fetch(`${app.url}/api/v1/x`, withKey(KEY))).arrayBuffer();
      const { ms } = app.logs.find((l) => l.message === 'request')! as { ms: number };
      expect(ms).to.be.at.least(20).and.below(5000);
      expect(String(ms)).to.match(/^\d+(\.\d{1,2})?$/);
    } finally {
      await app.close();
    }
  });

  it('calls itself version 0.0.0 when not told its version', async () => {
    const store = new KeyStore();
    store.swap({ current: { key: KEY, source: 'file' } });
    const app = createApp({ store, metrics: createMetrics({ store, processMetrics: false }), logger: captureLogger().logger, status: () => ({ accepting: true }) });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/health`, withKey(KEY));
      expect((await res.json() as { version: string }).version).to.equal('0.0.0');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('replaces a client request id that is not sane with one of its own', async () => {
    const app = await startApp({ level: 'http' });
    try {
      const res = await fetch(`${app.url}/livez`, { headers: { 'X-Request-Id': 'has space' } });
      expect(res.headers.get('x-request-id')).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    } finally {
      await app.close();
    }
  });

  it('refuses a target that could leave its route with 400 for every route, counted and logged like any answer', async () => {
    const app = await startApp({ level: 'http' });
    try {
      const escape = await rawRequest(app.port, 'GET /api/v1/%2e%2e/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { keepOpen: true });
      expect(escape.status).to.equal(400);
      expect(escape.text.endsWith('{"detail":"Invalid request path"}')).to.equal(true);
      const malformed = await rawRequest(app.port, 'GET /livez%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { keepOpen: true });
      expect(malformed.text.endsWith('{"detail":"Malformed URL"}')).to.equal(true);
      expect(app.logs.filter((l) => l.message === 'request').map((l) => [l.route, l.status])).to.deep.equal([['other', 400], ['other', 400]]);
      const text = await (await fetch(`${app.url}/metrics`, withKey(KEY))).text();
      expect(text).to.include('qwen_http_requests_total{route="other",code="400"} 2');
    } finally {
      await app.close();
    }
  });

  it('routes an absolute-form target by its path, which every later look at the request agrees on', async () => {
    const app = await startApp({ forward: async (ctx) => { ctx.body = { path: ctx.path, query: ctx.query, url: ctx.req.url }; } });
    try {
      const live = await rawRequest(app.port, `GET http://127.0.0.1:${app.port}/livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { keepOpen: true });
      expect(live.status).to.equal(200);
      const forwarded = await rawRequest(app.port,
        `GET http://127.0.0.1:${app.port}/api/v1/x?q=1 HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\nConnection: close\r\n\r\n`, { keepOpen: true });
      expect(JSON.parse(forwarded.text.slice(forwarded.text.indexOf('\r\n\r\n') + 4))).to.deep.equal({ path: '/api/v1/x', query: { q: '1' }, url: '/api/v1/x?q=1' });
    } finally {
      await app.close();
    }
  });

  it('closes the connection after any answer while draining, Koa\'s own answers too', async () => {
    const app = await startApp();
    try {
      app.status.accepting = false;
      const answer = await rawRequest(app.port, 'GET /livez HTTP/1.1\r\nHost: x\r\n\r\n', { keepOpen: true });
      expect(answer.status).to.equal(200);
      expect(answer.text).to.match(/\r\nConnection: close\r\n/i);
    } finally {
      await app.close();
    }
  });

  it('logs a client gone mid-answer at debug with its code, and any other app error at error with its stack', () => {
    const log = captureLogger();
    const store = new KeyStore();
    const app = createApp({ store, metrics: createMetrics({ store, processMetrics: false }), logger: log.logger, status: () => ({ accepting: true }) });
    for (const code of ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']) {
      app.emit('error', Object.assign(new Error('gone'), { code }), { state: { requestId: 'r1' } });
    }
    app.emit('error', Object.assign(new Error('gone'), { code: 'EPIPE' }));
    const broken = new Error('broken');
    app.emit('error', broken);
    app.emit('error', Object.assign(new Error('no stack'), { stack: undefined }));
    expect(log.lines).to.deep.equal([
      ...['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'].map((code) => ({ level: 'debug', message: 'client connection lost', code, requestId: 'r1' })),
      { level: 'debug', message: 'client connection lost', code: 'EPIPE' },
      { level: 'error', message: 'unhandled request error', error: broken.stack },
      { level: 'error', message: 'unhandled request error', error: 'Error: no stack' },
    ]);
  });
});
