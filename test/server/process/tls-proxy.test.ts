import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import { startUpstream } from '../../proxy/harness.js';
import type { Upstream } from '../../proxy/harness.js';
import { curl, h2Request, h2Session } from '../../helpers/tls-clients.js';
import { startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

interface Echo { method: string; path: string; query: string; headers: Record<string, string>; bodyLength: number; bodySha256: string }

// HTTP/2 through the proxy: the daemon over TLS in front of test/fixtures/upstream.ts (plain HTTP/1.1).
describe('server process: HTTP/2 requests through the proxy', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let upstream: Upstream;
  let server: TlsServer;
  let session: ClientHttp2Session | undefined;

  before(async () => {
    setup = await tlsSetup();
    upstream = await startUpstream();
    server = await startTlsServer(setup, ['--upstream', upstream.url.href, '--max-body', '200k']);
  });
  afterEach(() => {
    session?.close();
    session = undefined;
  });
  after(async () => {
    await server?.stop();
    await upstream?.stop();
    await setup?.cleanup();
  });

  it('streams an HTTP/2 body sent without a length to the backend, and its answer back', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const chunks = [randomBytes(70_000), randomBytes(50_000)];
    const answer = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit?steps=4', 'x-api-key': setup.apiKey }, chunks);
    expect(answer.status).to.equal(200);
    const echo = JSON.parse(answer.body) as Echo;
    expect(echo).to.include({ method: 'POST', path: '/api/v1/edit', query: '?steps=4', bodyLength: 120_000 });
    expect(echo.bodySha256).to.equal(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
  });

  it('sends the backend no pseudo-headers and no key, and says the client came over https', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const answer = await h2Request(session, { ':path': '/api/v1/echo', authorization: `Bearer ${setup.apiKey}` });
    const { headers } = JSON.parse(answer.body) as Echo;
    expect(Object.keys(headers).filter((name) => name.startsWith(':') || name === 'authorization' || name === 'x-api-key')).to.deep.equal([]);
    expect(headers).to.include({ 'x-forwarded-proto': 'https', 'x-forwarded-host': `127.0.0.1:${server.port}`, 'x-forwarded-for': '127.0.0.1' });
    expect(answer.headers['x-request-id']).to.equal(headers['x-request-id']);
  });

  it('relays a large answer and the backend\'s status over HTTP/2 with curl', async () => {
    const run = await curl(['--cacert', setup.ca.cert, '-H', `X-API-Key: ${setup.apiKey}`, '-o', '/dev/null',
      '-w', '%{http_version} %{http_code} %{size_download}', `${server.origin}/api/v1/big?mb=3`]);
    expect(run.stdout).to.equal(`2 200 ${3 * 1024 * 1024}`);
    const status = await curl(['--cacert', setup.ca.cert, '-H', `X-API-Key: ${setup.apiKey}`, '-o', '/dev/null', '-w', '%{http_code}',
      `${server.origin}/api/v1/status/418`]);
    expect(status.stdout).to.equal('418');
  });

  it('answers an HTTP/2 body over --max-body with 413 JSON, and no HTTP/1.1-only header', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const declared = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': setup.apiKey, 'content-length': '300000' },
      [Buffer.alloc(300_000)]);
    const streamed = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': setup.apiKey },
      [Buffer.alloc(150_000), Buffer.alloc(150_000)]);
    expect([declared.status, JSON.parse(declared.body)]).to.deep.equal([413, { detail: 'Request body too large' }]);
    expect(streamed.status).to.equal(413);
    expect(server.stderr()).to.not.include('connection header');
  });

  it('resets the stream of an HTTP/2 body it stopped reading (NO_ERROR), so the client stops sending', async () => {
    // Over --max-body with no length declared: the forwarder reads 200k, answers 413 and reads no more.
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const stream = session.request({ ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': setup.apiKey });
    stream.resume();
    stream.write(Buffer.alloc(1024 * 1024)); // beyond the flow-control window: blocked until read or reset
    const status = new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
    const closed = new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
    const deadline = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000).unref());
    expect(await status).to.equal(413);
    expect(await Promise.race([closed, deadline])).to.equal(0);
    expect((await h2Request(session, { ':path': '/livez' })).status, 'the connection still serves').to.equal(200);
  });

  it('refuses an HTTP/2 request without the key before it reaches the backend', async () => {
    session = await h2Session(server.origin, { ca: setup.ca.cert });
    const answer = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-request-id': 'no-key-h2' }, [Buffer.from('x')]);
    expect(answer.status).to.equal(401);
    const seen = await fetch(new URL('/_requests/no-key-h2', upstream.url));
    expect(seen.status).to.equal(404);
  });
});
