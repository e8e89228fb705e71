import { expect } from 'chai';
import { once } from 'node:events';
import { Agent, request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { startUpstream, upstreamSaw, waitFor } from '../../proxy/harness.js';
import type { Upstream } from '../../proxy/harness.js';
import { h2Request, h2Session } from '../../helpers/tls-clients.js';
import { startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

// SIGTERM with HTTP/2 sessions open: each gets GOAWAY, streams in flight finish, and the process exits
// without waiting for idle connections of either protocol to time out.
describe('server process: draining HTTPS connections', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let upstream: Upstream;
  let server: TlsServer;

  before(async () => {
    setup = await tlsSetup();
    upstream = await startUpstream();
    server = await startTlsServer(setup, ['--upstream', upstream.url.href, '--drain-timeout', '20s']);
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await upstream?.stop();
    await setup?.cleanup();
  });

  it('sends GOAWAY, finishes the request in flight, and exits 0 well before idle connections would time out', async () => {
    const tls = { ca: setup.ca.cert };
    const busy = await h2Session(server.origin, tls);
    const idle = await h2Session(server.origin, tls);
    const agent = new Agent({ keepAlive: true, ca: await readFile(setup.ca.cert) });
    try {
      await new Promise<void>((resolve, reject) => {
        request(`${server.origin}/livez`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
      });
      expect((await h2Request(idle, { ':path': '/livez' })).status).to.equal(200);
      const goaway = once(busy, 'goaway');
      const slow = h2Request(busy, { ':path': '/api/v1/slow?ms=800', 'x-api-key': setup.apiKey, 'x-request-id': 'drain-slow' });
      await waitFor('the slow request at the backend', () => upstreamSaw(upstream.url, 'drain-slow'));
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      await goaway;
      expect((await slow).status).to.equal(200);
      // Answers while draining carry `Connection: close` over HTTP/1.1 only: HTTP/2 forbids it (Node warns on stderr).
      expect(server.stderr()).to.not.include('connection header');
      const { code } = await server.exited;
      expect(code).to.equal(0);
      expect(Date.now() - signalledAt, 'idle HTTP/2 and HTTP/1.1 connections closed at once, not after their 5 s idle time')
        .to.be.below(4000);
    } finally {
      busy.destroy();
      idle.destroy();
      agent.destroy();
    }
  });
});
