import { expect } from 'chai';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { makeCa } from '../../helpers/certificates.js';
import type { TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';
import { h2Request, h2Session } from '../../helpers/tls-clients.js';
import type { RequestHandler } from '../../../src/server/tls/listener.js';
import { http1Connection, listenTls, until } from '../../helpers/tls-listener.js';

// The header deadline of every request on HTTP/1.1 over TLS (headerDeadline), through the listener.
// Answers `/slow` 600 ms after its headers are in (longer than the tests' header timeouts), anything else at once.
const slowOnes: RequestHandler = (req, res) => {
  if (req.url === '/slow') setTimeout(() => res.end('slow'), 600);
  else res.end('ok');
};

describe('header deadline', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
  });
  after(() => cleanup());

  // Regression: Node's HTTP/2 server runs no header timer for its HTTP/1.1 fallback, so a slow-header
  // client over TLS held its connection for ever.
  /**
   * Closes the client side of `first`'s connection and checks that its deadline, had it been left running,
   * touches the closed socket no more: a connection opened after it waits out its own header timeout (408),
   * by which time `first`'s would have gone off too.
   */
  async function expectLeftAloneOnceClosed(first: TLSSocket, client: Socket, port: number): Promise<void> {
    const firstClosed = once(first, 'close');
    client.end();
    await firstClosed;
    const touched: string[] = [];
    first.end = () => { touched.push('end'); return first; };
    first.destroy = () => { touched.push('destroy'); return first; };
    const later = await http1Connection(port, ca);
    try {
      await later.closed(3000);
      expect(later.received()).to.match(/^HTTP\/1\.1 408 /);
    } finally {
      later.socket.destroy();
    }
    expect(touched).to.deep.equal([]);
  }

  it('answers 408 and closes an HTTP/1.1-over-TLS connection whose first headers are not in by the header timeout', async () => {
    const { port, close } = await listenTls(ca, { headersTimeout: 300 });
    const client = await http1Connection(port, ca);
    try {
      const started = Date.now();
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      await client.closed(3000);
      expect(Date.now() - started).to.be.within(250, 3000);
      expect(client.received()).to.match(/^HTTP\/1\.1 408 /);
      expect(client.received()).to.include('{"detail":"Request timeout"}');
    } finally {
      client.socket.destroy();
      close();
    }
  });

  it('answers a request whose headers came in time, however long its answer takes', async () => {
    const { port, close } = await listenTls(ca, { headersTimeout: 400, handler: slowOnes });
    const client = await http1Connection(port, ca);
    try {
      client.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('slow'), 3000, 'the answer');
      expect(client.received()).to.match(/^HTTP\/1\.1 200 /);
      expect(client.socket.destroyed).to.equal(false);
    } finally {
      client.socket.destroy();
      close();
    }
  });

  it('sets no header deadline on an HTTP/2 connection, which has its own idle close', async () => {
    const { origin, port, close } = await listenTls(ca, { headersTimeout: 150 });
    const session = await h2Session(origin, { ca: ca.cert });
    let goaway = false;
    session.once('goaway', () => { goaway = true; });
    try {
      expect((await h2Request(session, { ':path': '/' })).body).to.equal('ok');
      // An HTTP/1.1 connection opened after the session has had its 408: the session's deadline, had it one, is past.
      const slow = await http1Connection(port, ca);
      try {
        await slow.closed(3000);
        expect(slow.received()).to.match(/^HTTP\/1\.1 408 /);
      } finally {
        slow.socket.destroy();
      }
      expect((await h2Request(session, { ':path': '/' })).body).to.equal('ok');
      expect(goaway).to.equal(false);
      expect(session.closed).to.equal(false);
    } finally {
      session.destroy();
      close();
    }
  });

  it('stops the deadline of a connection that closed before it', async () => {
    const { listener, port, close } = await listenTls(ca, { headersTimeout: 150 });
    const sockets: TLSSocket[] = [];
    listener.server.on('secureConnection', (socket: TLSSocket) => sockets.push(socket));
    const early = await http1Connection(port, ca);
    try {
      await until(() => sockets.length === 1, 2000, 'the server side of the connection');
      const [first] = sockets;
      await expectLeftAloneOnceClosed(first!, early.socket, port);
    } finally {
      early.socket.destroy();
      close();
    }
  });

  // Regression: after an answer that kept the connection open (/livez, /readyz and 404s need no key), only
  // the 5 s keep-alive idle timer was left, and every byte reset it: headers trickled a byte at a time held
  // the connection for as long as the client liked.
  it('answers 408 and closes when a later request\'s headers are not in by the header timeout after the answer before', async () => {
    const { port, close } = await listenTls(ca, { headersTimeout: 500 });
    const client = await http1Connection(port, ca);
    const trickle = setInterval(() => { if (client.received().includes('ok') && !client.socket.destroyed) client.socket.write('X'); }, 50);
    try {
      client.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n');
      await until(() => client.received().includes('ok'), 3000, 'the first answer');
      const answered = Date.now();
      await client.closed(3000);
      expect(Date.now() - answered).to.be.within(250, 3000); // with each byte restarting the 5 s idle timer, it would never close
      expect(client.received()).to.match(/^HTTP\/1\.1 200 [^]*\r\n\r\nokHTTP\/1\.1 408 /);
      expect(client.received().endsWith('{"detail":"Request timeout"}')).to.equal(true);
    } finally {
      clearInterval(trickle);
      client.socket.destroy();
      close();
    }
  });

  it('answers a keep-alive connection\'s next request whose headers came in time, however long its answer takes', async () => {
    const { port, close } = await listenTls(ca, { headersTimeout: 400, handler: slowOnes });
    const client = await http1Connection(port, ca);
    try {
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('ok'), 3000, 'the first answer');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the client thinks a moment
      client.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('slow') || client.socket.destroyed, 3000, 'the second answer');
      expect(client.received()).to.match(/^HTTP\/1\.1 200 [^]*\r\n\r\nokHTTP\/1\.1 200 [^]*\r\n\r\nslow$/);
    } finally {
      client.socket.destroy();
      close();
    }
  });

  it('gives pipelined requests no deadline while one of them is still being answered', async () => {
    // The first is answered at once, the second 600 ms later: its headers were in long before.
    const { port, close } = await listenTls(ca, { headersTimeout: 400, handler: slowOnes });
    const client = await http1Connection(port, ca);
    try {
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('slow'), 3000, 'the second answer');
      expect(client.received()).to.match(/^HTTP\/1\.1 200 [^]*\r\n\r\nokHTTP\/1\.1 200 [^]*\r\n\r\nslow$/);
      expect(client.socket.destroyed).to.equal(false);
    } finally {
      client.socket.destroy();
      close();
    }
  });

  it('gives a connection that is closing after its answer no deadline', async () => {
    // As the app closes a connection whose body went unread: once the answer is out, the socket stops reading
    // and ends, lingering until the client has read its answer (here until the test is done).
    const handler: RequestHandler = (req, res) => {
      res.once('finish', () => { req.socket.pause(); req.socket.end(); });
      res.end('ok');
    };
    const { listener, port, close } = await listenTls(ca, { headersTimeout: 150, handler });
    const sockets: TLSSocket[] = [];
    listener.server.on('secureConnection', (socket: TLSSocket) => sockets.push(socket));
    const client = await http1Connection(port, ca);
    try {
      await until(() => sockets.length === 1, 2000, 'the server side of the connection');
      const [socket] = sockets;
      const touched: string[] = [];
      const destroy = socket!.destroy.bind(socket);
      socket!.destroy = (error) => { touched.push('destroy'); return destroy(error); };
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received().endsWith('ok'), 3000, 'the answer');
      await new Promise((resolve) => setTimeout(resolve, 500)); // three header timeouts
      expect(touched).to.deep.equal([]);
    } finally {
      client.socket.destroy();
      close();
    }
  });

  it('stops the deadline armed after an answer once the connection closes', async () => {
    const { listener, port, close } = await listenTls(ca, { headersTimeout: 150 });
    const sockets: TLSSocket[] = [];
    listener.server.on('secureConnection', (socket: TLSSocket) => sockets.push(socket));
    const early = await http1Connection(port, ca);
    try {
      await until(() => sockets.length === 1, 2000, 'the server side of the connection');
      const [first] = sockets;
      early.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => early.received().endsWith('ok'), 3000, 'the answer');
      await expectLeftAloneOnceClosed(first!, early.socket, port);
    } finally {
      early.socket.destroy();
      close();
    }
  });
});
