import { expect } from 'chai';
import fc from 'fast-check';
import { connect } from 'node:net';
import { generateKey } from '../../../src/core/key.js';
import { keyFileWith, registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';

/** Sends raw bytes on a fresh connection and returns the status code of the first answer (0 if none). */
function raw(port: number, request: string | Buffer, timeoutMs = 3000): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : 0, text });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // One whole answer is enough: headers plus the announced body.
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.end(request);
  });
}

const get = (path: string, headers: string[] = []): string =>
  [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers, 'Connection: close', '', ''].join('\r\n');

describe('server process: hostile requests over raw sockets', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let cleanup: () => Promise<void>;
  const key = generateKey();
  registerSecret(key);

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    // Throttling off, so every hostile request reaches the key check instead of a 429.
    server = await spawnServer({ args: ['--port', '0', '--key-file', await keyFileWith(tmp.dir, key), '--auth-fail-limit', 'off'] });
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });
  afterEach(async () => {
    expect(await statusOf(`${server.url}/api/v1/health`, key)).to.equal(200);
    expect(await statusOf(`${server.url}/api/v1/health`)).to.equal(401);
  });

  const expectSafe = (answer: { status: number }, what: string): void => {
    expect(answer.status, what).to.be.within(0, 499);
    expect(answer.status, what).to.not.equal(200);
  };

  it('random bytes in X-API-Key: never 5xx, never 200', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
      const value = Buffer.from(bytes.filter((b) => b !== 0x0a && b !== 0x0d));
      const request = Buffer.concat([Buffer.from('GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-API-Key: '), value, Buffer.from('\r\nConnection: close\r\n\r\n')]);
      expectSafe(await raw(server.port, request), 'random key bytes');
    }), { numRuns: 60 });
  });

  it('duplicated key headers never authenticate unless each is exactly the key', async () => {
    for (const headers of [[`X-API-Key: ${key}`, `X-API-Key: ${key}`], [`X-API-Key: ${key}`, 'X-API-Key: wrong'], ['X-API-Key: wrong', `X-API-Key: ${key}`],
      [`Authorization: Bearer ${key}`, 'Authorization: Bearer wrong'], [`X-API-Key: ${key}x`], [`X-API-Key: ${key.slice(0, -1)}`]]) {
      expectSafe(await raw(server.port, get('/api/v1/health', headers)), headers.join(' / ').replace(key, '<key>'));
    }
  });

  it('large headers: 10 KB answered normally, 100 KB refused with 431 JSON', async () => {
    const big = await raw(server.port, get('/api/v1/health', [`X-API-Key: ${key}`, `X-Filler: ${'a'.repeat(10_240)}`]));
    expect(big.status).to.equal(200);
    const bigWrong = await raw(server.port, get('/api/v1/health', [`X-API-Key: ${'k'.repeat(10_240)}`]));
    expect(bigWrong.status).to.equal(401);
    const huge = await raw(server.port, get('/api/v1/health', [`X-API-Key: ${'k'.repeat(100_000)}`]));
    expect(huge.status).to.equal(431);
    expect(huge.text).to.include('{"detail":');
  });

  it('malformed Authorization headers get 400 or 401, never more', async () => {
    for (const value of ['Basic Zm9vOmJhcg==', 'Bearer', 'Bearer ', 'Bearer a b c', `bearer ${key} extra`, 'Bearer \u00ff\u00fe', 'Bearer\t' + key, 'Digest x=y', `${key}`]) {
      const answer = await raw(server.port, get('/api/v1/health', [`Authorization: ${value}`]));
      expect([400, 401], value.replace(key, '<key>')).to.include(answer.status);
    }
  });

  it('percent-encoding garbage and traversal in paths: never 5xx, never 200 without the key', async () => {
    for (const path of ['/api/v1/%', '/api/v1/%zz', '/%E0%A4%A', '/api/v1/health%00', '/api/v1/../../etc/passwd', '/livez/../api/v1/health',
      '/api/v1/%2e%2e/%2e%2e/metrics', '//api/v1/health', '/api/v1/health/..', '/metrics/', '/METRICS', '/api/v1/health?x=%', '*', '/\\..\\..']) {
      const answer = await raw(server.port, get(path));
      expectSafe(answer, path);
    }
  });

  it('conflicting Content-Length / Transfer-Encoding and bad framing: 400 JSON', async () => {
    for (const request of [
      'POST /api/v1/edit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello',
      'POST /api/v1/edit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /api/v1/edit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      'GET /livez HTTP/9.9\r\nHost: x\r\n\r\n',
      'GARBAGE\r\n\r\n',
    ]) {
      const answer = await raw(server.port, request);
      expect(answer.status, request.split('\r\n')[0]).to.be.within(0, 499);
      expect(answer.status).to.not.equal(200);
      if (answer.status !== 0) expect(answer.text).to.include('{"detail":');
    }
  });

  // Regression: Node accepts these absolute-form targets, but Koa's URL parser threw on them and the
  // request got a plain-text 500 (and a deprecation warning on stderr).
  it('absolute-form targets no URL parser accepts: 400 JSON, never 5xx; parsable ones work', async () => {
    for (const target of ['http://[::1', 'http://[::1/livez', 'https://[/api/v1/health', 'http://[fe80::1%25eth0]/livez']) {
      const answer = await raw(server.port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(answer.status, target).to.equal(400);
      expect(answer.text.endsWith('{"detail":"Malformed URL"}'), target).to.equal(true);
    }
    const fine = await raw(server.port, `GET http://a/livez HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    expect(fine.status).to.equal(200);
    expect(server.stderr().includes('DeprecationWarning')).to.equal(false);
  });

  it('absurd methods: never 5xx, never 200 on a protected route', async () => {
    for (const method of ['FOO', 'PROPFIND', 'M-SEARCH', 'CONNECT', 'TRACE', 'X'.repeat(5000), 'G\x01T', 'OPTIONS', 'PURGE']) {
      for (const path of ['/api/v1/health', '/metrics', '/livez']) {
        const answer = await raw(server.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(answer.status, `${method.slice(0, 20)} ${path}`).to.be.within(0, 499);
        if (path !== '/livez') expect(answer.status).to.not.equal(200);
      }
    }
  });

  it('the server log shows no unexpected error after all of that', () => {
    const errors = server.lines().filter((l) => l.level === 'error');
    expect(errors.map((l) => l.message)).to.deep.equal([]);
  });
});
