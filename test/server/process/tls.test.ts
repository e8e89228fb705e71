import { expect } from 'chai';
import type { ClientHttp2Session } from 'node:http2';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { fingerprintOf } from '../../helpers/certificates.js';
import { curl, h2Request, h2Session, httpsFetch } from '../../helpers/tls-clients.js';
import { startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

// The real daemon serving HTTPS, seen through real clients: curl (HTTP/2 and HTTP/1.1 by ALPN) and
// Node's https and http2 modules, each verifying the certificate against the test CA.
describe('server process: HTTPS with HTTP/2 and HTTP/1.1 on one port', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let server: TlsServer;
  let session: ClientHttp2Session | undefined;

  before(async () => {
    setup = await tlsSetup();
    server = await startTlsServer(setup);
  });
  afterEach(() => {
    session?.close();
    session = undefined;
  });
  after(async () => {
    await server?.stop();
    await setup?.cleanup();
  });

  it('logs an https:// url in its listening line', () => {
    const line = server.lines().find((l) => l.message === 'listening')!;
    expect(line.url).to.equal(`https://127.0.0.1:${server.port}`);
  });

  it('completes a handshake curl verifies against the CA, and answers over HTTP/2 by default', async () => {
    const run = await curl(['--cacert', setup.ca.cert, '-w', '\n%{http_version} %{http_code}', `${server.origin}/livez`]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('{"status":"ok"}\n2 200');
  });

  it('answers curl over HTTP/1.1 when it asks for it', async () => {
    const run = await curl(['--http1.1', '--cacert', setup.ca.cert, '-w', '\n%{http_version} %{http_code}', `${server.origin}/readyz`]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('{"status":"ready"}\n1.1 200');
  });

  it('fails a client that does not trust the CA (curl exits 60)', async () => {
    const run = await curl([`${server.origin}/livez`]);
    expect(run.code).to.equal(60);
  });

  it('answers nothing in clear text on the TLS port', async () => {
    const run = await curl([`http://127.0.0.1:${server.port}/livez`]);
    expect(run.code).to.not.equal(0);
    expect(run.stdout).to.equal('');
  });

  it('checks the key the same way over HTTP/1.1 and HTTP/2: 401 JSON without it, 200 with it', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const tls = { ca: setup.ca.cert };
    const h1Refused = await httpsFetch(`${server.origin}/api/v1/health`, tls);
    const h2Refused = await h2Request(session, { ':path': '/api/v1/health' });
    for (const refused of [h1Refused, h2Refused]) {
      expect(refused.status).to.equal(401);
      expect(JSON.parse(refused.body)).to.deep.equal({ detail: 'Invalid or missing API key' });
      expect(refused.headers['www-authenticate']).to.match(/^Bearer /);
    }
    const h1 = await httpsFetch(`${server.origin}/api/v1/health`, tls, { headers: { 'X-API-Key': setup.apiKey } });
    const h2 = await h2Request(session, { ':path': '/api/v1/health', authorization: `Bearer ${setup.apiKey}` });
    expect([h1.status, h1.protocol, h2.status, h2.protocol]).to.deep.equal([200, 'http/1.1', 200, 'h2']);
  });

  it('answers unknown paths and wrong methods over HTTP/2 with the same JSON errors', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const missing = await h2Request(session, { ':path': '/nope' });
    const wrongMethod = await h2Request(session, { ':path': '/livez', ':method': 'DELETE' });
    expect([missing.status, JSON.parse(missing.body)]).to.deep.equal([404, { detail: 'Not found' }]);
    expect([wrongMethod.status, wrongMethod.headers.allow]).to.deep.equal([405, 'GET, HEAD']);
  });

  it('refuses a repeated Authorization header over HTTP/2 with 400, as over HTTP/1.1', async () => {
    const run = await curl(['--cacert', setup.ca.cert, '-H', `Authorization: Bearer ${setup.apiKey}`, '-H', 'Authorization: Bearer other',
      '-w', '\n%{http_version} %{http_code}', `${server.origin}/api/v1/health`]);
    expect(run.stdout).to.match(/^\{"detail":"Malformed Authorization header[^\n]*\n2 400$/);
  });

  it('answers an HTTP/2 CONNECT with 405 JSON', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const answer = await h2Request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
    expect([answer.status, JSON.parse(answer.body)]).to.deep.equal([405, { detail: 'Method not allowed' }]);
  });

  it('answers an HTTP/1.1 request Node cannot parse with 400 JSON over TLS too', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: readFileSync(setup.ca.cert), ALPNProtocols: ['http/1.1'] },
        () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer.endsWith('\r\n\r\n{"detail":"Bad request"}')).to.equal(true);
  });

  it('shows the certificate in force in health: fingerprint, subject, issuer, notAfter, never key material', async () => {
    const answer = await httpsFetch(`${server.origin}/api/v1/health`, { ca: setup.ca.cert }, { headers: { 'X-API-Key': setup.apiKey } });
    const { tls } = JSON.parse(answer.body) as { tls: Record<string, unknown> };
    const cert = new X509Certificate(readFileSync(setup.first.cert));
    expect(tls).to.include({
      fingerprintSha256: fingerprintOf(setup.first.cert), subject: 'CN=localhost', issuer: 'CN=Test CA',
      notAfter: new Date(cert.validTo).toISOString(), clientCertificates: 'none',
    });
    expect(tls.daysLeft).to.be.within(28, 30);
    expect(answer.body).to.not.include('PRIVATE');
    expect(answer.body).to.not.include(readFileSync(setup.first.key, 'utf8').split('\n')[1]!);
  });

  it('gives notAfter as a gauge and counts certificate reloads in the metrics', async () => {
    const answer = await httpsFetch(`${server.origin}/metrics`, { ca: setup.ca.cert }, { headers: { 'X-API-Key': setup.apiKey } });
    const notAfter = new Date(new X509Certificate(readFileSync(setup.first.cert)).validTo).getTime() / 1000;
    expect(answer.body).to.match(new RegExp(`^qwen_tls_certificate_not_after_seconds ${notAfter}$`, 'm'));
    expect(answer.body).to.match(/^qwen_tls_certificate_reloads_total\{result="rejected"\} 0$/m);
  });
});
