// The forwarder against an upstream in this process, for what the fixture upstream cannot show:
// the options it refuses, what the upstream receives exactly, and the log lines of each failure.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import winston from 'winston';
import { createForwarder } from '../../src/proxy/forwarder.js';
import { startProxy } from './harness.js';

interface Held { req: IncomingMessage; res: ServerResponse; body: string }

/** An upstream that records each request with its body and lets the test answer it. */
async function holdingUpstream(): Promise<{ server: Server; url: URL; held: Held[]; close(): Promise<void> }> {
  const held: Held[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => held.push({ req, res, body }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server, held,
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const logger = winston.createLogger({ silent: true });

describe('createForwarder: options', () => {
  it('refuses an upstream that is not http or https', () => {
    assert.throws(() => createForwarder({ upstream: new URL('ftp://backend/'), timeoutMs: 1, maxBodyBytes: 1, logger }), {
      name: 'TypeError', message: 'upstream must be an http(s) URL',
    });
  });

  it('refuses a timeout that is not positive', () => {
    for (const timeoutMs of [0, -1, Number.NaN]) {
      assert.throws(() => createForwarder({ upstream: new URL('http://backend/'), timeoutMs, maxBodyBytes: 1, logger }), {
        name: 'RangeError', message: 'timeoutMs must be positive',
      }, String(timeoutMs));
    }
  });

  it('refuses a negative body limit, and takes 0', async () => {
    for (const maxBodyBytes of [-1, Number.NaN]) {
      assert.throws(() => createForwarder({ upstream: new URL('http://backend/'), timeoutMs: 1, maxBodyBytes, logger }), {
        name: 'RangeError', message: 'maxBodyBytes must be zero or more',
      }, String(maxBodyBytes));
    }
    await createForwarder({ upstream: new URL('https://backend/'), timeoutMs: 1, maxBodyBytes: 0, logger }).close();
  });
});

describe('createForwarder: what the upstream receives', () => {
  it('appends the path to the upstream\'s own, however many slashes end it', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: new URL('/base///', upstream.url) });
    try {
      const answer = fetch(`${proxy.url}/api/v1/x?y=1`);
      await until('the request', () => upstream.held.length === 1);
      assert.equal(upstream.held[0]!.req.url, '/base/api/v1/x?y=1');
      upstream.held[0]!.res.end();
      await (await answer).arrayBuffer();
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('sends no body, and no sign of one, for a request without a body or with Content-Length: 0', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      for (const [method, body] of [['GET', undefined], ['POST', '']] as const) {
        const answer = fetch(`${proxy.url}/api/v1/x`, { method, body });
        await until('the request', () => upstream.held.length === 1);
        const { req, res } = upstream.held.pop()!;
        assert.equal(req.headers['transfer-encoding'], undefined, method);
        assert.ok(req.headers['content-length'] === undefined || req.headers['content-length'] === '0', method);
        res.end();
        await (await answer).arrayBuffer();
      }
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('forwards the target the app parsed, when there is one', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: upstream.url }, async (ctx, next) => {
      ctx.state['target'] = { path: '/api/v1/parsed', query: '?by=app' };
      await next();
    });
    try {
      const answer = fetch(`${proxy.url}/api/v1/raw`);
      await until('the request', () => upstream.held.length === 1);
      assert.equal(upstream.held[0]!.req.url, '/api/v1/parsed?by=app');
      upstream.held[0]!.res.end();
      await (await answer).arrayBuffer();
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('createForwarder: answers and log lines', () => {
  it('closes the client\'s connection after a relayed answer while the server drains', async () => {
    const upstream = await holdingUpstream();
    let draining = false;
    const proxy = await startProxy({ upstream: upstream.url, draining: () => draining });
    try {
      const first = fetch(`${proxy.url}/api/v1/x`);
      await until('the request', () => upstream.held.length === 1);
      upstream.held.pop()!.res.end('a');
      assert.equal((await first).headers.get('connection'), 'keep-alive');
      draining = true;
      const second = fetch(`${proxy.url}/api/v1/x`);
      await until('the request', () => upstream.held.length === 1);
      upstream.held.pop()!.res.end('b');
      assert.equal((await second).headers.get('connection'), 'close');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('logs an upstream it cannot reach at warn: id, method, path, status and code', async () => {
    const upstream = await holdingUpstream();
    const url = upstream.url;
    await upstream.close();
    const proxy = await startProxy({ upstream: url });
    try {
      const res = await fetch(`${proxy.url}/api/v1/x?secret=1`, { method: 'PUT', body: 'b', headers: { 'X-Request-Id': 'fwd-1' } });
      assert.equal(res.status, 502);
      const line = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'upstream request failed');
      assert.deepEqual(line, {
        level: 'warn', message: 'upstream request failed', requestId: 'fwd-1', method: 'PUT', path: '/api/v1/x', status: 502, code: 'ECONNREFUSED',
      });
    } finally {
      await proxy.close();
    }
  });

  it('answers 413 and closes the connection when a body without Content-Length passes the limit', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: upstream.url, maxBodyBytes: 10 });
    try {
      const body = new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode('x'.repeat(100))); controller.close(); } });
      const res = await fetch(`${proxy.url}/api/v1/x`, { method: 'POST', body, duplex: 'half' } as RequestInit);
      assert.equal(res.status, 413);
      assert.equal(res.headers.get('connection'), 'close');
      assert.deepEqual(await res.json(), { detail: 'Request body too large' });
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('answers 413 by Content-Length, closing the connection, without asking the upstream', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: upstream.url, maxBodyBytes: 10 });
    try {
      const res = await fetch(`${proxy.url}/api/v1/x`, { method: 'POST', body: 'x'.repeat(11) });
      assert.equal(res.status, 413);
      assert.equal(res.headers.get('connection'), 'close');
      assert.equal(upstream.held.length, 0);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('logs a client gone before the answer at info, and aborts the upstream request', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const controller = new AbortController();
      const answer = fetch(`${proxy.url}/api/v1/x`, { signal: controller.signal, headers: { 'X-Request-Id': 'gone-1' } }).catch(() => undefined);
      await until('the request', () => upstream.held.length === 1);
      const upstreamClosed = once(upstream.held[0]!.res, 'close');
      controller.abort();
      await answer;
      await upstreamClosed;
      await until('the log line', () => proxy.logs.some((l) => l.includes('client closed request')));
      const line = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'client closed request');
      assert.deepEqual(line, { level: 'info', message: 'client closed request', requestId: 'gone-1', method: 'GET', path: '/api/v1/x' });
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('records a client gone before the answer as 499, and writes it nothing', async () => {
    const upstream = await holdingUpstream();
    let after: { status: number; respond: boolean | undefined; headersSent: boolean; ended: boolean } | undefined;
    const proxy = await startProxy({ upstream: upstream.url }, async (ctx, next) => {
      await next();
      after = { status: ctx.status, respond: ctx.respond, headersSent: ctx.res.headersSent, ended: ctx.res.writableEnded };
    });
    try {
      const controller = new AbortController();
      const answer = fetch(`${proxy.url}/api/v1/x`, { signal: controller.signal }).catch(() => undefined);
      await until('the request', () => upstream.held.length === 1);
      controller.abort();
      await answer;
      await until('the forwarder to finish', () => after !== undefined);
      assert.deepEqual(after, { status: 499, respond: false, headersSent: false, ended: false });
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('keeps the upstream\'s status for a client gone once the answer had started', async () => {
    const upstream = await holdingUpstream();
    let status: number | undefined;
    const proxy = await startProxy({ upstream: upstream.url }, async (ctx, next) => {
      await next();
      status = ctx.status;
    });
    try {
      const controller = new AbortController();
      const answer = fetch(`${proxy.url}/api/v1/x`, { signal: controller.signal });
      await until('the request', () => upstream.held.length === 1);
      upstream.held[0]!.res.writeHead(201, { 'Content-Length': '100' });
      upstream.held[0]!.res.write('part');
      const response = await answer;
      controller.abort();
      await assert.rejects(response.arrayBuffer());
      await until('the forwarder to finish', () => status !== undefined);
      assert.equal(status, 201);
      assert.ok(proxy.logs.some((l) => l.includes('client closed request')));
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('logs an upstream that fails mid-answer at warn with its code, and cuts the client off', async () => {
    const upstream = await holdingUpstream();
    const proxy = await startProxy({ upstream: upstream.url });
    try {
      const answer = fetch(`${proxy.url}/api/v1/x`, { headers: { 'X-Request-Id': 'cut-1' } });
      await until('the request', () => upstream.held.length === 1);
      const { res } = upstream.held[0]!;
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('part');
      const response = await answer;
      res.socket!.destroy();
      await assert.rejects(response.arrayBuffer());
      await until('the log line', () => proxy.logs.some((l) => l.includes('upstream response aborted')));
      const line = proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'upstream response aborted');
      assert.deepEqual(Object.keys(line!).sort(), ['code', 'level', 'message', 'method', 'path', 'requestId']);
      assert.equal(line!.level, 'warn');
      assert.equal(line!.requestId, 'cut-1');
      assert.equal(proxy.logs.some((l) => l.includes('upstream request failed')), false);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
