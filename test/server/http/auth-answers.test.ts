import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createKeyCheck, withKey } from '../../../src/server/http/auth.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { FailureThrottle } from '../../../src/server/http/throttle.js';
import { KEY, OLD_KEY, startApp } from '../../helpers/app-server.js';
import type { TestApp } from '../../helpers/app-server.js';
import { rawRequest } from '../../helpers/raw-http.js';

/** A GET of /api/v1/health with `headers` (raw lines) from `localAddress`; the status and the answer's text. */
async function health(app: TestApp, headers: string[], localAddress = '127.0.0.1'): Promise<{ status: number; text: string }> {
  const request = ['GET /api/v1/health HTTP/1.1', 'Host: x', ...headers, 'Connection: close', '', ''].join('\r\n');
  const { status, text } = await rawRequest(app.port, request, { localAddress });
  return { status, text };
}

async function metricsText(app: TestApp): Promise<string> {
  return (await fetch(`${app.url}/metrics`, { headers: { 'X-API-Key': KEY } })).text();
}

describe('auth: failed-auth throttling per client address', () => {
  it('throttles the client that failed, not another address', async () => {
    const app = await startApp({ throttle: new FailureThrottle({ rate: { count: 2, periodMs: 60_000 } }) });
    try {
      const first = [];
      for (let i = 0; i < 3; i++) first.push((await health(app, ['X-API-Key: wrong'], '127.0.0.2')).status);
      expect(first).to.deep.equal([401, 401, 429]);
      expect((await health(app, ['X-API-Key: wrong'], '127.0.0.3')).status).to.equal(401);
    } finally {
      await app.close();
    }
  });

  it('tells a throttled client how many seconds to wait', async () => {
    const app = await startApp({ throttle: new FailureThrottle({ rate: { count: 1, periodMs: 120_000 }, clock: () => 0 }) });
    try {
      await health(app, ['X-API-Key: wrong']);
      const { status, text } = await health(app, ['X-API-Key: wrong']);
      expect(status).to.equal(429);
      expect(text).to.match(/\r\nRetry-After: 120\r\n/i);
      expect(text).to.include('{"detail":"Too many failed authentication attempts"}');
    } finally {
      await app.close();
    }
  });

  it('counts throttled refusals as throttled, not as the reason they failed', async () => {
    const app = await startApp({ throttle: new FailureThrottle({ rate: { count: 1, periodMs: 60_000 } }) });
    try {
      await health(app, ['X-API-Key: wrong']);
      await health(app, ['X-API-Key: wrong']);
      const text = await metricsText(app);
      expect(text).to.match(/qwen_auth_failures_total\{reason="invalid"\} 1\n/);
      expect(text).to.match(/qwen_auth_failures_total\{reason="throttled"\} 1\n/);
    } finally {
      await app.close();
    }
  });
});

describe('auth: what a refusal says', () => {
  it('counts each refusal under its reason: missing, invalid, malformed', async () => {
    const app = await startApp();
    try {
      expect((await health(app, [])).status).to.equal(401);
      expect((await health(app, ['X-API-Key: wrong'])).status).to.equal(401);
      expect((await health(app, ['Authorization: Basic Zm9vOmJhcg=='])).status).to.equal(400);
      expect((await health(app, ['Authorization: Basic Zm9vOmJhcg=='])).status).to.equal(400);
      const text = await metricsText(app);
      expect(text).to.match(/qwen_auth_failures_total\{reason="missing"\} 1\n/);
      expect(text).to.match(/qwen_auth_failures_total\{reason="invalid"\} 1\n/);
      expect(text).to.match(/qwen_auth_failures_total\{reason="malformed"\} 2\n/);
    } finally {
      await app.close();
    }
  });

  it('answers a missing key like a wrong one: 401, the documented detail, the Bearer challenge', async () => {
    const app = await startApp();
    try {
      const { status, text } = await health(app, []);
      expect(status).to.equal(401);
      expect(text).to.match(/\r\nWWW-Authenticate: Bearer realm="qwen-api"\r\n/i);
      expect(text).to.include('{"detail":"Invalid or missing API key"}');
    } finally {
      await app.close();
    }
  });

  it('answers a malformed Authorization header with 400, invalid_request in the challenge and how to send the key', async () => {
    const app = await startApp();
    try {
      const { status, text } = await health(app, ['Authorization: Token abc']);
      expect(status).to.equal(400);
      expect(text).to.match(/\r\nWWW-Authenticate: Bearer realm="qwen-api", error="invalid_request"\r\n/i);
      expect(text).to.include('{"detail":"Malformed Authorization header; send X-API-Key: KEY or Authorization: Bearer KEY"}');
    } finally {
      await app.close();
    }
  });
});

describe('auth: which header carries the key', () => {
  it('reads Authorization when X-API-Key is present but empty', async () => {
    const app = await startApp();
    try {
      expect((await health(app, ['X-API-Key: ', `Authorization: Bearer ${KEY}`])).status).to.equal(200);
    } finally {
      await app.close();
    }
  });

  it('refuses a repeated Authorization header as malformed, though its first value holds the key', async () => {
    const app = await startApp();
    try {
      expect((await health(app, [`Authorization: Bearer ${KEY}`, 'Authorization: Bearer other'])).status).to.equal(400);
    } finally {
      await app.close();
    }
  });

  it('ignores Authorization when X-API-Key carries the key, even a repeated one', async () => {
    const app = await startApp();
    try {
      expect((await health(app, [`X-API-Key: ${KEY}`, 'Authorization: Bearer a', 'Authorization: Bearer b'])).status).to.equal(200);
    } finally {
      await app.close();
    }
  });
});

describe('auth: a valid key', () => {
  it('counts the previous key\'s use, and never the current key\'s', async () => {
    const now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD_KEY, until: new Date(now + 60_000) } });
    const app = await startApp({ store });
    try {
      expect((await health(app, [`X-API-Key: ${KEY}`])).status).to.equal(200);
      expect(await metricsText(app)).to.match(/qwen_auth_previous_key_total 0\n/);
      expect((await health(app, [`X-API-Key: ${OLD_KEY}`])).status).to.equal(200);
      expect(await metricsText(app)).to.match(/qwen_auth_previous_key_total 1\n/);
    } finally {
      await app.close();
    }
  });

  it('never touches the throttle, even from a throttled address', async () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 } });
    const app = await startApp({ throttle });
    try {
      await health(app, ['X-API-Key: wrong']);
      expect((await health(app, ['X-API-Key: wrong'])).status).to.equal(429);
      expect((await health(app, [`X-API-Key: ${KEY}`])).status).to.equal(200);
      expect(throttle.size).to.equal(1);
    } finally {
      await app.close();
    }
  });
});

describe('auth: createKeyCheck without metrics', () => {
  it('refuses, throttles and accepts without counting anything', async () => {
    const now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD_KEY, until: new Date(now + 60_000) } });
    const check = createKeyCheck({ store, throttle: new FailureThrottle({ rate: { count: 1, periodMs: 60_000 } }) });
    const app = new Koa();
    app.use(withKey(check, (ctx) => { ctx.body = 'in'; }));
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const get = async (header: string): Promise<number> =>
        (await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\n${header}Connection: close\r\n\r\n`, { keepOpen: true })).status;
      expect(await get(`X-API-Key: ${OLD_KEY}\r\n`)).to.equal(200);
      expect(await get('X-API-Key: wrong\r\n')).to.equal(401);
      expect(await get('X-API-Key: wrong\r\n')).to.equal(429);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
