import { expect } from 'chai';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { createListener, isLoopback } from '../../../src/server/tls/listener.js';
import type { Listener, RequestHandler } from '../../../src/server/tls/listener.js';
import { makeCa, makeLeaf } from '../../helpers/certificates.js';
import type { TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';
import { h2Request, h2Session } from '../../helpers/tls-clients.js';

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

  /** A TLS listener on 127.0.0.1 with a short idle time, answering every request `ok` unless told otherwise. */
  const listening = async (idleMs: number, handler: RequestHandler = (_req, res) => res.end('ok'), headersTimeout?: number): Promise<{ listener: Listener; origin: string }> => {
    const pair = await makeLeaf(ca);
    const listener = createListener(handler, {
      context: { cert: await readFile(pair.cert), key: await readFile(pair.key) }, requireClientCertificates: false, idleMs,
    }, headersTimeout === undefined ? {} : { headersTimeout });
    listener.server.listen(0, '127.0.0.1');
    await once(listener.server, 'listening');
    return { listener, origin: `https://127.0.0.1:${(listener.server.address() as AddressInfo).port}` };
  };

  it('tells loopback addresses, where plain HTTP needs no warning, from the rest', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopback)).to.deep.equal([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', '128.0.0.1'].map(isLoopback)).to.deep.equal(Array(6).fill(false));
  });

  it('closes an HTTP/2 connection that has had no stream open for the idle time, with GOAWAY', async () => {
    const { listener, origin } = await listening(150);
    const session = await h2Session(origin, { ca: ca.cert });
    try {
      const goaway = once(session, 'goaway');
      expect((await h2Request(session, { ':path': '/' })).body).to.equal('ok');
      const idleFrom = Date.now();
      await goaway;
      expect(Date.now() - idleFrom).to.be.within(100, 2000);
    } finally {
      session.destroy();
      listener.closeAll();
      listener.server.close();
    }
  });

  it('keeps an HTTP/2 connection with a stream open past the idle time', async () => {
    let release: () => void = () => {};
    const { listener, origin } = await listening(100, (_req, res) => { release = () => res.end('late'); });
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
      listener.closeAll();
      listener.server.close();
    }
  });

  // Regression: Node's HTTP/2 server runs no header timer for its HTTP/1.1 fallback, so a slow-header
  // client over TLS held its connection for ever.
  it('answers 408 and closes an HTTP/1.1-over-TLS connection whose first headers are not in by the header timeout', async () => {
    const { listener, origin } = await listening(5000, undefined, 300);
    const socket = connect({ port: Number(new URL(origin).port), host: '127.0.0.1', ca: await readFile(ca.cert), ALPNProtocols: ['http/1.1'] });
    try {
      await once(socket, 'secureConnect');
      const started = Date.now();
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      await once(socket, 'close');
      expect(Date.now() - started).to.be.within(250, 3000);
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
      expect(answer).to.include('{"detail":"Request timeout"}');
    } finally {
      socket.destroy();
      listener.closeAll();
      listener.server.close();
    }
  });

  it('leaves an HTTP/1.1-over-TLS connection whose request came in time open past the header timeout', async () => {
    const { listener, origin } = await listening(5000, undefined, 200);
    const socket = connect({ port: Number(new URL(origin).port), host: '127.0.0.1', ca: await readFile(ca.cert), ALPNProtocols: ['http/1.1'] });
    try {
      await once(socket, 'secureConnect');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(answer).to.match(/^HTTP\/1\.1 200 /);
      expect(socket.destroyed).to.equal(false);
    } finally {
      socket.destroy();
      listener.closeAll();
      listener.server.close();
    }
  });
});
