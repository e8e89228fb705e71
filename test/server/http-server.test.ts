import { expect } from 'chai';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHttpServer, serverTimeouts } from '../../src/server/http-server.js';
import type { RequestHandler } from '../../src/server/tls/listener.js';
import { sendHeldContinue } from '../../src/proxy/expect-continue.js';
import { closedBy, openSocket, rawRequest } from '../helpers/raw-http.js';
import { makeCa, makeLeaf } from '../helpers/certificates.js';
import type { TestCa } from '../helpers/certificates.js';
import { tempDir } from '../helpers/server-process.js';
import { http1Connection, until } from '../helpers/tls-listener.js';
import { captureLogger } from './reload/helpers.js';

describe('http server: timeouts', () => {
  it('waits --header-timeout for headers and the upstream timeout for a whole request, not Node\'s 60 s and 300 s', () => {
    expect(serverTimeouts({ headerTimeoutMs: 10_000, requestTimeoutMs: 600_000 })).to.deep.include({ headersTimeout: 10_000, requestTimeout: 600_000 });
  });

  it('never gives a request less time than its headers (Node refuses that)', () => {
    expect(serverTimeouts({ headerTimeoutMs: 10_000, requestTimeoutMs: 2000 }).requestTimeout).to.equal(10_000);
  });

  it('looks for expired connections every second at most, and never more often than every 100 ms', () => {
    expect(serverTimeouts({ headerTimeoutMs: 10_000, requestTimeoutMs: 10_000 }).connectionsCheckingInterval).to.equal(1000);
    expect(serverTimeouts({ headerTimeoutMs: 1000, requestTimeoutMs: 1000 }).connectionsCheckingInterval).to.equal(250);
    expect(serverTimeouts({ headerTimeoutMs: 100, requestTimeoutMs: 100 }).connectionsCheckingInterval).to.equal(100);
  });
});

describe('http server: createHttpServer', () => {
  async function listen(handler: RequestHandler, limits: { max: number; perClient?: number } = { max: 100 }) {
    const log = captureLogger();
    const { listener, connections } = createHttpServer(handler, { headerTimeoutMs: 5000, requestTimeoutMs: 60_000, limits, logger: log.logger });
    const server = listener.server as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const close = (): Promise<void> => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    return { server, connections, port, log, close };
  }

  it('sets the timeouts', async () => {
    const { server, close } = await listen((_req, res) => res.end());
    try {
      expect([server.headersTimeout, server.requestTimeout]).to.deep.equal([5000, 60_000]);
    } finally {
      await close();
    }
  });

  it('hands a request with Expect: 100-continue to the handler without sending 100 Continue', async () => {
    const { port, close } = await listen((_req, res) => {
      res.statusCode = 401;
      res.end('no');
    });
    try {
      const answer = await rawRequest(port, 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n', { keepOpen: true });
      expect(answer.status).to.equal(401);
      expect(answer.text).to.not.include('100 Continue');
    } finally {
      await close();
    }
  });

  it('sends the held 100 Continue once the handler asks for the body', async () => {
    const { port, close } = await listen((req, res) => {
      sendHeldContinue(req, res);
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => res.end(`got ${body}`));
    });
    try {
      const socket = await openSocket(port);
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n');
      const interim = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      expect(interim).to.equal('HTTP/1.1 100 Continue\r\n\r\n');
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      socket.write('abc');
      await closedBy(socket, 2000);
      expect(text).to.match(/^HTTP\/1\.1 200 [^]*got abc$/);
    } finally {
      await close();
    }
  });

  it('answers a request it cannot parse with JSON', async () => {
    const { port, close } = await listen((_req, res) => res.end());
    try {
      const answer = await rawRequest(port, 'NOT A REQUEST\r\n\r\n');
      expect(answer.status).to.equal(400);
      expect(answer.text.endsWith('{"detail":"Bad request"}')).to.equal(true);
    } finally {
      await close();
    }
  });

  it('applies the connection caps, and its guard counts the connections', async () => {
    const { port, connections, close } = await listen((_req, res) => res.end(), { max: 100, perClient: 1 });
    try {
      const first = await openSocket(port, '127.0.0.2');
      const second = await openSocket(port, '127.0.0.2');
      expect((await closedBy(second, 2000)).closed).to.equal(true);
      expect(connections.open).to.equal(1);
      expect(connections.counts.per_ip).to.equal(1);
      first.destroy();
    } finally {
      await close();
    }
  });
});

describe('http server: createHttpServer over TLS', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
  });
  after(() => cleanup());

  // Regression: a request held for 100 Continue went to the bare app, past the listener's own handler, so
  // the first request's header deadline stayed armed and cut an upload slower than --header-timeout with 408.
  it('lets an upload that waited for 100 Continue take longer than the header timeout', async () => {
    const pair = await makeLeaf(ca);
    const log = captureLogger();
    const handler: RequestHandler = (req, res) => {
      (res as ServerResponse).writeContinue();
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.end(`got ${body}`));
    };
    const tls = { context: { cert: await readFile(pair.cert), key: await readFile(pair.key) }, requireClientCertificates: false };
    const { listener } = createHttpServer(handler, { headerTimeoutMs: 300, requestTimeoutMs: 60_000, limits: { max: 100 }, logger: log.logger, tls });
    listener.server.listen(0, '127.0.0.1');
    await once(listener.server, 'listening');
    const client = await http1Connection((listener.server.address() as AddressInfo).port, ca);
    try {
      client.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
      await until(() => client.received().startsWith('HTTP/1.1 100 Continue\r\n'), 3000, '100 Continue');
      client.socket.write('01234');
      await new Promise((resolve) => setTimeout(resolve, 900)); // three header timeouts: the upload is slow, not stalled in its headers
      client.socket.write('56789');
      await until(() => client.received().endsWith('got 0123456789'), 3000, 'the answer');
      expect(client.received()).to.match(/\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    } finally {
      client.socket.destroy();
      listener.closeAll();
      listener.server.close();
    }
  });

  it('lets a later upload on a kept-alive connection that waited for 100 Continue take longer than the header timeout', async () => {
    const pair = await makeLeaf(ca);
    const log = captureLogger();
    const handler: RequestHandler = (req, res) => {
      if (req.method === 'GET') return void res.end('ok');
      (res as ServerResponse).writeContinue();
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.end(`got ${body}`));
    };
    const tls = { context: { cert: await readFile(pair.cert), key: await readFile(pair.key) }, requireClientCertificates: false };
    const { listener } = createHttpServer(handler, { headerTimeoutMs: 300, requestTimeoutMs: 60_000, limits: { max: 100 }, logger: log.logger, tls });
    listener.server.listen(0, '127.0.0.1');
    await once(listener.server, 'listening');
    const client = await http1Connection((listener.server.address() as AddressInfo).port, ca);
    try {
      client.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('ok'), 3000, 'the first answer');
      client.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
      await until(() => client.received().endsWith('HTTP/1.1 100 Continue\r\n\r\n'), 3000, '100 Continue');
      client.socket.write('01234');
      await new Promise((resolve) => setTimeout(resolve, 900)); // three header timeouts: the upload is slow, not stalled in its headers
      client.socket.write('56789');
      await until(() => client.received().endsWith('got 0123456789'), 3000, 'the answer');
      expect(client.received()).to.match(/\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    } finally {
      client.socket.destroy();
      listener.closeAll();
      listener.server.close();
    }
  });
});
