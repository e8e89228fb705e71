import { expect } from 'chai';
import { generateKey } from '../../../src/core/key.js';
import { openSocket } from '../../helpers/raw-http.js';
import { eventually, keyFileWith, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';
import { startUpstream, upstreamSaw } from '../../proxy/harness.js';
import type { Upstream } from '../../proxy/harness.js';

// Forwarded requests over raw sockets: what a slow, silent or vanishing client may hold, and what it costs in logs.

describe('server process: forwarded requests and their connections', function () {
  this.timeout(60_000);
  const key = generateKey();
  registerSecret(key);
  let upstream: Upstream;
  let cleanups: (() => Promise<unknown>)[] = [];

  before(async () => { upstream = await startUpstream(); });
  after(async () => { await upstream?.stop(); });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups = [];
  });

  async function start(args: string[] = []): Promise<ServerProcess> {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const server = await spawnServer({ args: ['--port', '0', '--key-file', await keyFileWith(tmp.dir, key), '--upstream', upstream.url.href, ...args] });
    cleanups.push(() => server.stop());
    return server;
  }

  /** A raw connection that collects what it reads, with a way to wait for some text in it. */
  async function client(server: ServerProcess) {
    const socket = await openSocket(server.port);
    cleanups.push(async () => socket.destroy());
    let text = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
    const waitFor = (pattern: RegExp, ms = 5000): Promise<void> => eventually(() => pattern.test(text), ms, 10);
    return { socket, text: () => text, waitFor };
  }

  it('sends 100 Continue once the key is checked, then forwards the body', async () => {
    const server = await start();
    const c = await client(server);
    c.socket.write(`POST /api/v1/edit HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n`);
    await c.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    c.socket.write('0123456789');
    await c.waitFor(/"bodyLength":10\b/);
    expect(c.text()).to.match(/\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  it('logs a client that resets mid-answer at info, without a stack, and never as an error', async () => {
    const server = await start();
    const c = await client(server);
    c.socket.write(`GET /api/v1/big?mb=256 HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nX-Request-Id: reset-1\r\n\r\n`);
    await c.waitFor(/^HTTP\/1\.1 200 /);
    c.socket.resetAndDestroy();
    const line = await server.waitForLine((l) => l.message === 'client closed request' && l.requestId === 'reset-1');
    expect(line.level).to.equal('info');
    await eventually(async () => (await upstreamSaw(upstream.url, 'reset-1'))?.state === 'aborted');
    const errors = server.lines().filter((l) => l.level === 'error' || JSON.stringify(l).includes('    at '));
    expect(errors).to.deep.equal([]);
  });

  it('closes a connection whose client reads nothing for --write-timeout, and the upstream exchange with it', async () => {
    const server = await start(['--write-timeout', '1s']);
    const c = await client(server);
    c.socket.write(`GET /api/v1/big?mb=256 HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nX-Request-Id: silent-1\r\n\r\n`);
    await c.waitFor(/^HTTP\/1\.1 200 /);
    c.socket.pause(); // reads nothing more: the kernel's buffers fill and the daemon's writes stall
    const line = await server.waitForLine((l) => l.message === 'client stopped reading; connection closed', 15_000);
    expect(line).to.include({ level: 'info', requestId: 'silent-1', writeTimeoutMs: 1000 });
    await eventually(async () => (await upstreamSaw(upstream.url, 'silent-1'))?.state === 'aborted');
  });

  it('cuts an upload that takes longer than --upstream-timeout with 408 (the request timeout follows it)', async () => {
    const server = await start(['--upstream-timeout', '2s', '--header-timeout', '1s']);
    const c = await client(server);
    c.socket.write(`POST /api/v1/edit HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Length: 100\r\n\r\n`);
    const trickle = setInterval(() => { if (!c.socket.destroyed) c.socket.write('a'); }, 100); // 10 s in all
    cleanups.push(async () => clearInterval(trickle));
    const started = Date.now();
    await c.waitFor(/^HTTP\/1\.1 408 /, 10_000);
    expect(Date.now() - started).to.be.within(1500, 8000);
  });
});
