import { expect } from 'chai';
import { http1Connection, until } from '../../helpers/tls-listener.js';
import { startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

// The real daemon's --header-timeout on HTTP/1.1 over TLS, where Node runs no header timer of its own.
describe('server process: --header-timeout over HTTPS', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let server: TlsServer;

  before(async () => {
    setup = await tlsSetup();
    server = await startTlsServer(setup, ['--header-timeout', '1s']);
  });
  after(async () => {
    await server?.stop();
    await setup?.cleanup();
  });

  // Regression: after a /livez answer (no key needed, connection kept open) a client trickling its next
  // request's headers a byte at a time held the connection for as long as it liked.
  it('answers 408 and closes a connection whose next headers are trickled after a /livez answer', async () => {
    const client = await http1Connection(server.port, setup.ca);
    const trickle = setInterval(() => { if (client.received().includes('"ok"') && !client.socket.destroyed) client.socket.write('X'); }, 300);
    try {
      client.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n');
      await until(() => client.received().includes('"ok"'), 5000, 'the /livez answer');
      const answered = Date.now();
      await client.closed(8000);
      expect(Date.now() - answered).to.be.within(800, 4000); // the keep-alive idle timer alone would wait for ever, each byte restarting it
      expect(client.received()).to.match(/^HTTP\/1\.1 200 [^]*\{"status":"ok"\}HTTP\/1\.1 408 /);
      expect(client.received().endsWith('{"detail":"Request timeout"}')).to.equal(true);
    } finally {
      clearInterval(trickle);
      client.socket.destroy();
    }
  });
});
