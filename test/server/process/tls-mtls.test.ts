import { expect } from 'chai';
import { join } from 'node:path';
import { makeCa, makeLeaf } from '../../helpers/certificates.js';
import type { CertFiles, TestCa } from '../../helpers/certificates.js';
import { curl, h2Request, h2Session, httpsFetch } from '../../helpers/tls-clients.js';
import { startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

// --tls-ca: only clients with a certificate from that CA complete a handshake; the API key is still required.
describe('server process: client certificates (--tls-ca)', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let server: TlsServer;
  let clientCa: TestCa;
  let client: CertFiles;
  let stranger: CertFiles;

  before(async () => {
    setup = await tlsSetup();
    clientCa = await makeCa(join(setup.dir, 'client-ca'), 'Client CA');
    client = await makeLeaf(clientCa, { cn: 'client-1', client: true });
    const otherCa = await makeCa(join(setup.dir, 'other-ca'), 'Other CA');
    stranger = await makeLeaf(otherCa, { cn: 'client-2', client: true });
    server = await startTlsServer(setup, ['--tls-ca', clientCa.cert]);
  });
  after(async () => {
    await server?.stop();
    await setup?.cleanup();
  });

  it('accepts curl with a client certificate from the CA, over HTTP/2', async () => {
    const run = await curl(['--cacert', setup.ca.cert, '--cert', client.cert, '--key', client.key, '-H', `X-API-Key: ${setup.apiKey}`,
      '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${server.origin}/api/v1/health`]);
    expect([run.code, run.stdout]).to.deep.equal([0, '2 200']);
  });

  it('accepts Node clients with a client certificate over HTTP/1.1 and HTTP/2, and still asks for the key', async () => {
    const tls = { ca: setup.ca.cert, cert: client.cert, key: client.key };
    const session = await h2Session(server.origin, tls);
    try {
      const h2 = await h2Request(session, { ':path': '/api/v1/health' });
      const h1 = await httpsFetch(`${server.origin}/api/v1/health`, tls, { headers: { 'X-API-Key': setup.apiKey } });
      expect([h2.status, h1.status]).to.deep.equal([401, 200]);
      expect(JSON.parse(h1.body).tls.clientCertificates).to.equal('required');
    } finally {
      session.close();
    }
  });

  it('refuses curl without a client certificate: no answer at all', async () => {
    const run = await curl(['--cacert', setup.ca.cert, '-H', `X-API-Key: ${setup.apiKey}`, `${server.origin}/api/v1/health`]);
    expect(run.code).to.not.equal(0);
    expect(run.stdout).to.equal('');
  });

  it('refuses a client certificate from another CA, over HTTP/1.1 and HTTP/2', async () => {
    const tls = { ca: setup.ca.cert, cert: stranger.cert, key: stranger.key };
    const h1 = await httpsFetch(`${server.origin}/livez`, tls).then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);
    const h2 = await h2Session(server.origin, tls)
      .then((session) => h2Request(session, { ':path': '/livez' }).finally(() => session.close()))
      .then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);
    expect(h1).to.not.equal('answered');
    expect(h2).to.not.equal('answered');
  });
});
