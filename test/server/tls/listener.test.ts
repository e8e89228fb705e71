import { expect } from 'chai';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect as http2Connect, constants } from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_BYTES, isLoopback } from '../../../src/server/tls/listener.js';
import type { RequestHandler } from '../../../src/server/tls/listener.js';
import { makeCa } from '../../helpers/certificates.js';
import type { TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';
import { h2Request, h2Session } from '../../helpers/tls-clients.js';
import { http1Connection, listenTls, until, within } from '../../helpers/tls-listener.js';

/** A client stream's answer: head, body and how the stream closed; fails when it has not closed within `ms`. */
async function settled(stream: ClientHttp2Stream, ms: number): Promise<{ head: IncomingHttpHeaders; body: string; rstCode: number }> {
  let head: IncomingHttpHeaders = {};
  let body = '';
  stream.on('response', (h) => { head = h; });
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('error', () => {}); // a reset other than NO_ERROR shows in rstCode
  await within(once(stream, 'close'), ms, 'the stream to close');
  return { head, body, rstCode: stream.rstCode ?? -1 };
}

describe('listener', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
  });
  after(() => cleanup());

  it('tells loopback addresses, where plain HTTP needs no warning, from the rest', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopback)).to.deep.equal([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', '128.0.0.1'].map(isLoopback)).to.deep.equal(Array(6).fill(false));
  });

  it('takes only a leading ::ffff: for an IPv4-mapped address', () => {
    expect(['127.0.0.1::ffff:', '127.0::ffff:.0.1'].map(isLoopback)).to.deep.equal([false, false]);
  });

  it('announces its limits to HTTP/2 clients: 100 streams at once, and the header list size', async () => {
    const { origin, close } = await listenTls(ca);
    const session = http2Connect(origin, { ca: await readFile(ca.cert) });
    try {
      const [settings] = await within(once(session, 'remoteSettings'), 5000, 'the server SETTINGS');
      expect(settings).to.include({ maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: MAX_HEADER_LIST_BYTES });
    } finally {
      session.destroy();
      close();
    }
  });

  it('closes an HTTP/2 connection that has had no stream open for the idle time, with GOAWAY', async () => {
    const { origin, close } = await listenTls(ca, { idleMs: 150 });
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      const goaway = once(session, 'goaway');
      expect((await h2Request(session, { ':path': '/' })).body).to.equal('ok');
      const idleFrom = Date.now();
      await goaway;
      expect(Date.now() - idleFrom).to.be.within(100, 2000);
    } finally {
      session.destroy();
      close();
    }
  });

  it('keeps an HTTP/2 connection with a stream open past the idle time', async () => {
    let release: () => void = () => {};
    const { origin, close } = await listenTls(ca, { idleMs: 100, handler: (_req, res) => { release = () => res.end('late'); } });
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      let closed = false;
      session.once('goaway', () => { closed = true; });
      const answer = h2Request(session, { ':path': '/' });
      await new Promise((r) => setTimeout(r, 400)); // four idle periods with the stream open
      expect(closed).to.equal(false);
      release();
      expect((await answer).body).to.equal('late');
    } finally {
      session.destroy();
      close();
    }
  });

  it('keeps an HTTP/2 connection past the idle time while one of its streams is open, after another has closed', async () => {
    const held: Array<() => void> = [];
    const { origin, close } = await listenTls(ca, {
      idleMs: 100, handler: (req, res) => (req.url === '/slow' ? held.push(() => res.end('late')) : res.end('ok')),
    });
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      let closed = false;
      session.once('goaway', () => { closed = true; });
      const slow = h2Request(session, { ':path': '/slow' });
      expect((await h2Request(session, { ':path': '/fast' })).body).to.equal('ok');
      await new Promise((r) => setTimeout(r, 400)); // four idle periods since the fast stream closed
      expect(closed).to.equal(false);
      held.forEach((release) => release());
      expect((await slow).body).to.equal('late');
    } finally {
      session.destroy();
      close();
    }
  });

  it('answers an HTTP/2 CONNECT 405 with a JSON body, and closes the stream the client left open', async () => {
    const { origin, close } = await listenTls(ca);
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
      const { head, body, rstCode } = await settled(stream, 2000);
      expect(head[':status']).to.equal(405);
      expect(head['content-type']).to.equal('application/json; charset=utf-8');
      expect(JSON.parse(body)).to.deep.equal({ detail: 'Method not allowed' });
      expect(head['content-length']).to.equal(String(Buffer.byteLength(body)));
      expect(rstCode).to.equal(constants.NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
      close();
    }
  });

  it('closes an HTTP/1.1-over-TLS CONNECT without an answer, as a plain HTTP server does', async () => {
    const { port, close } = await listenTls(ca);
    const client = await http1Connection(port, ca);
    try {
      client.socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      await client.closed(2000);
      expect(client.received()).to.equal('');
    } finally {
      client.socket.destroy();
      close();
    }
  });

  // Regression: an answer sent before the body was read to its end (a body over its limit, an upstream that
  // failed mid-upload) left the client's half open, blocked by flow control. (A body never touched at all,
  // Node closes itself.)
  it('resets an HTTP/2 stream whose body the answer left part-read, with NO_ERROR, so the client stops sending', async () => {
    const handler: RequestHandler = (req, res) => req.once('data', () => {
      req.pause();
      res.statusCode = 413;
      res.end('refused');
    });
    const { origin, close } = await listenTls(ca, { handler });
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/' });
      stream.end(Buffer.alloc(1024 * 1024)); // far beyond the 64 KiB window: the client blocks until told to stop
      const { head, body, rstCode } = await settled(stream, 2000);
      expect(head[':status']).to.equal(413);
      expect(body).to.equal('refused');
      expect(rstCode).to.equal(constants.NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
      close();
    }
  });

  it('closeIdle sends GOAWAY to an idle HTTP/2 connection before its idle time', async () => {
    const { listener, origin, close } = await listenTls(ca, { idleMs: 10_000 });
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      expect((await h2Request(session, { ':path': '/' })).body).to.equal('ok');
      const goaway = once(session, 'goaway');
      listener.closeIdle();
      await within(goaway, 2000, 'GOAWAY');
    } finally {
      session.destroy();
      close();
    }
  });

  it('closeIdle lets an HTTP/2 stream in flight finish', async () => {
    let release: (() => void) | undefined;
    const { listener, origin, close } = await listenTls(ca, { handler: (_req, res) => { release = () => res.end('late'); } });
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      const answer = h2Request(session, { ':path': '/' });
      await until(() => release !== undefined, 2000, 'the request');
      listener.closeIdle();
      await within(once(session, 'goaway'), 2000, 'GOAWAY');
      release!();
      expect((await answer).body).to.equal('late');
    } finally {
      session.destroy();
      close();
    }
  });

  it('closeIdle closes an idle HTTP/1.1-over-TLS keep-alive connection', async () => {
    const { listener, port, close } = await listenTls(ca, { idleMs: 10_000 });
    const client = await http1Connection(port, ca);
    try {
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('ok'), 2000, 'the answer');
      listener.closeIdle();
      await client.closed(2000);
    } finally {
      client.socket.destroy();
      close();
    }
  });

  it('closeAll cuts HTTP/2 sessions and HTTP/1.1 connections, requests in flight included', async () => {
    let started = 0;
    const { listener, origin, port, close } = await listenTls(ca, { handler: () => { started++; } });
    const session = await h2Session(origin, { ca: ca.cert });
    const client = await http1Connection(port, ca);
    try {
      session.on('error', () => {});
      const answer = h2Request(session, { ':path': '/' }).catch((err: Error) => err);
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => started === 2, 2000, 'both requests');
      const sessionClosed = once(session, 'close');
      listener.closeAll();
      await within(sessionClosed, 2000, 'the HTTP/2 session to close');
      await client.closed(2000);
      expect(await answer).to.be.instanceOf(Error);
    } finally {
      session.destroy();
      client.socket.destroy();
      close();
    }
  });

  it('forgets a connection once it has closed: closeAll and closeIdle leave it alone', async () => {
    const { listener, port, origin, close } = await listenTls(ca);
    const sockets: Socket[] = [];
    const sessions: ServerHttp2Session[] = [];
    listener.server.on('connection', (socket: Socket) => sockets.push(socket));
    listener.server.on('session', (session: ServerHttp2Session) => sessions.push(session));
    const client = await http1Connection(port, ca);
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      await until(() => sessions.length === 1, 2000, 'the server side of the HTTP/2 session');
      const serverClosed = [...sockets.map((s) => once(s, 'close')), ...sessions.map((s) => once(s, 'close'))];
      expect(serverClosed).to.have.length(3); // two TCP connections, one HTTP/2 session
      client.socket.end();
      session.close();
      await within(Promise.all(serverClosed), 2000, 'the server side to close');
      const touched: string[] = [];
      for (const socket of sockets) socket.destroy = () => { touched.push('socket.destroy'); return socket; };
      for (const s of sessions) {
        s.destroy = () => { touched.push('session.destroy'); };
        s.close = () => { touched.push('session.close'); };
      }
      listener.closeIdle();
      listener.closeAll();
      expect(touched).to.deep.equal([]);
    } finally {
      client.socket.destroy();
      session.destroy();
      close();
    }
  });

  it('stops the idle timer of an HTTP/2 connection that closed before its idle time', async () => {
    const { listener, origin, close } = await listenTls(ca, { idleMs: 150 });
    const sessions: ServerHttp2Session[] = [];
    listener.server.on('session', (session: ServerHttp2Session) => sessions.push(session));
    const early = await h2Session(origin, { ca: ca.cert });
    const later = await h2Session(origin, { ca: ca.cert });
    try {
      await until(() => sessions.length === 2, 2000, 'the server side of both sessions');
      const [first] = sessions;
      const firstClosed = once(first!, 'close');
      early.close();
      await within(firstClosed, 1000, 'the first session to close');
      let touched = false;
      first!.close = () => { touched = true; };
      // The second session's idle time began after the first's: its GOAWAY means the first's has passed too.
      await within(once(later, 'goaway'), 2000, 'GOAWAY on the second session');
      expect(touched).to.equal(false);
    } finally {
      early.destroy();
      later.destroy();
      close();
    }
  });
});
