import { expect } from 'chai';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { makeCa } from '../../helpers/certificates.js';
import type { TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';
import { h2Request, h2Session } from '../../helpers/tls-clients.js';
import { http1Connection, listenTls, until } from '../../helpers/tls-listener.js';

// The first request's header deadline on HTTP/1.1 over TLS (firstRequestDeadline), through the listener.
describe('first request deadline', function () {
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

  it('leaves an HTTP/1.1-over-TLS connection whose request came in time open past the header timeout', async () => {
    const { port, close } = await listenTls(ca, { headersTimeout: 200 });
    const client = await http1Connection(port, ca);
    try {
      client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 600));
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
      const firstClosed = once(first!, 'close');
      early.socket.end();
      await firstClosed;
      const touched: string[] = [];
      first!.end = () => { touched.push('end'); return first!; };
      first!.destroy = () => { touched.push('destroy'); return first!; };
      // A connection opened after the first has had its 408: the first's deadline, had it been left running, is past.
      const later = await http1Connection(port, ca);
      try {
        await later.closed(3000);
        expect(later.received()).to.match(/^HTTP\/1\.1 408 /);
      } finally {
        later.socket.destroy();
      }
      expect(touched).to.deep.equal([]);
    } finally {
      early.socket.destroy();
      close();
    }
  });
});
