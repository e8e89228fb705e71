// startDaemon with --tls-cert/--tls-key in this process: what the TLS process tests prove of the built
// server, on the source, where mutation testing sees it.
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import type { Config } from '../../src/server/config.js';
import { startDaemon } from '../../src/server/daemon.js';
import type { Daemon } from '../../src/server/daemon.js';
import { fingerprintOf, makeCa, makeLeaf } from '../helpers/certificates.js';
import type { CertFiles, TestCa } from '../helpers/certificates.js';
import { curl, h2Request, h2Session, httpsFetch, servedFingerprint } from '../helpers/tls-clients.js';
import { captureLogger, tempDir, waitFor } from './reload/helpers.js';

const KEY = 'qwk_daemon_tls_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const notAfterOf = (certFile: string): number => new Date(new X509Certificate(readFileSync(certFile)).validTo).getTime();

describe('startDaemon with TLS', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let first: CertFiles;
  let second: CertFiles;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
    [first, second] = await Promise.all([makeLeaf(ca), makeLeaf(ca)]);
  });
  after(() => cleanup());

  /** A daemon on 127.0.0.1:0 serving `first` from files of its own (so a test may replace them). */
  async function start(flags: string[] = []): Promise<{ daemon: Daemon; port: number; cert: string; key: string; log: ReturnType<typeof captureLogger>; close(): Promise<void> }> {
    const home = join(dir, `d-${Math.random().toString(36).slice(2)}`);
    await mkdir(join(home, 'api'), { recursive: true });
    const cert = join(home, 'tls.crt');
    const key = join(home, 'tls.key');
    await copyFile(first.cert, cert);
    await copyFile(first.key, key);
    const keyFile = join(home, 'api', '.api_key');
    const log = captureLogger();
    const config = loadConfig(['--port', '0', '--key-file', keyFile, '--tls-cert', cert, '--tls-key', key, ...flags], { QWEN_API_KEY: KEY }) as Config;
    const daemon = await startDaemon(config, log.logger, '1.2.3');
    return { daemon, port: (daemon.server.address() as AddressInfo).port, cert, key, log, close: () => daemon.shutdown('test') };
  }

  it('serves HTTPS, says so in its url, and describes the certificate in health', async () => {
    const running = await start();
    try {
      expect(running.daemon.url).to.equal(`https://127.0.0.1:${running.port}`);
      const answer = await httpsFetch(`${running.daemon.url}/api/v1/health`, { ca: ca.cert }, { headers: { 'X-API-Key': KEY } });
      expect(answer.status).to.equal(200);
      const health = JSON.parse(answer.body) as { tls: Record<string, unknown> };
      expect(health.tls).to.deep.include({ fingerprintSha256: fingerprintOf(first.cert), clientCertificates: 'none' });
      expect(running.log.lines.map((l) => l.message)).to.not.include('listening beyond loopback without TLS: keys cross the network readable; use --tls-cert and --tls-key');
    } finally {
      await running.close();
    }
  });

  it('refuses a wrong key over HTTP/2 with the usual 401 JSON, with or without a body', async () => {
    const running = await start();
    const session = await h2Session(running.daemon.url, { ca: ca.cert });
    try {
      const bare = await h2Request(session, { ':path': '/api/v1/health', 'x-api-key': 'wrong' });
      expect([bare.status, bare.body]).to.deep.equal([401, '{"detail":"Invalid or missing API key"}']);
      expect(bare.headers).to.not.have.property('connection');
      const withBody = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': 'wrong' }, [Buffer.from('image')]);
      expect(withBody.status).to.equal(401);
    } finally {
      session.close();
      await running.close();
    }
  });

  it('reads every Authorization header of an HTTP/2 request: one Bearer key passes, a repeated header is malformed', async () => {
    const running = await start();
    try {
      const session = await h2Session(running.daemon.url, { ca: ca.cert });
      try {
        expect((await h2Request(session, { ':path': '/api/v1/health', authorization: `Bearer ${KEY}` })).status).to.equal(200);
      } finally {
        session.close();
      }
      // Node's HTTP/2 client refuses to repeat the header; curl sends what it is given.
      const run = await curl(['--http2', '--cacert', ca.cert, '-H', `Authorization: Bearer ${KEY}`, '-H', 'Authorization: Bearer other',
        '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${running.daemon.url}/api/v1/health`]);
      expect(run.stdout).to.equal('2 400');
    } finally {
      await running.close();
    }
  });

  it('re-reads the certificate on reload (SIGHUP), and serves the new one to new handshakes', async () => {
    const running = await start(['--watch-mode', 'poll']);
    try {
      await copyFile(second.cert, running.cert);
      await copyFile(second.key, running.key);
      await running.daemon.reload('SIGHUP');
      await waitFor(async () => (await servedFingerprint(running.port, { ca: ca.cert })) === fingerprintOf(second.cert), 'the new certificate', 5000, 20);
    } finally {
      await running.close();
    }
  });

  it('counts certificate re-reads in its metrics', async () => {
    const running = await start();
    try {
      const metrics = async (): Promise<string> =>
        (await httpsFetch(`${running.daemon.url}/metrics`, { ca: ca.cert }, { headers: { 'X-API-Key': KEY } })).body;
      expect(await metrics()).to.match(/\nqwen_tls_certificate_checks_total 0\n/);
      void running.daemon.reload('SIGHUP');
      await waitFor(async () => /\nqwen_tls_certificate_checks_total 1\n/.test(await metrics()), 'the re-read counted', 5000, 20);
      expect(await metrics()).to.match(new RegExp(`\\nqwen_tls_certificate_not_after_seconds ${Math.floor(notAfterOf(first.cert) / 1000)}\\n`));
    } finally {
      await running.close();
    }
  });

  it('closes the certificate watch on shutdown', async () => {
    const watches = (): number => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const before = watches();
    const running = await start();
    await running.close();
    await waitFor(() => watches() === before, 'the watches to close', 3000, 10);
  });
});

describe('startDaemon with TLS in front of an upstream', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let pair: CertFiles;
  let upstream: Server;
  let seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }>;
  let held: ServerResponse[];

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
    pair = await makeLeaf(ca);
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/api/v1/hold') held.push(res);
        else res.end('edited');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });
  beforeEach(() => {
    seen = [];
    held = [];
  });
  after(async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    await cleanup();
  });

  async function start(flags: string[] = []): Promise<Daemon> {
    await mkdir(join(dir, 'api'), { recursive: true });
    const config = loadConfig(['--port', '0', '--key-file', join(dir, 'api', '.api_key'), '--tls-cert', pair.cert, '--tls-key', pair.key,
      '--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, ...flags], { QWEN_API_KEY: KEY }) as Config;
    return startDaemon(config, captureLogger().logger, '1.2.3');
  }

  it('forwards an HTTP/2 body sent without a length, and none for a request whose headers ended its stream', async () => {
    const daemon = await start();
    const session = await h2Session(daemon.url, { ca: ca.cert });
    try {
      const posted = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': KEY }, [Buffer.from('ima'), Buffer.from('ge')]);
      expect([posted.status, posted.body]).to.deep.equal([200, 'edited']);
      const got = await h2Request(session, { ':path': '/api/v1/edit?q=1', 'x-api-key': KEY });
      expect(got.status).to.equal(200);
      expect(seen.map((r) => [r.method, r.url, r.body])).to.deep.equal([['POST', '/api/v1/edit', 'image'], ['GET', '/api/v1/edit?q=1', '']]);
      expect([seen[1]!.headers['transfer-encoding'], seen[1]!.headers['content-length']], 'no sign of a body on the GET').to.deep.equal([undefined, undefined]);
      expect(Object.keys(seen[0]!.headers).filter((name) => name.startsWith(':'))).to.deep.equal([]);
    } finally {
      session.close();
      await daemon.shutdown('test');
    }
  });

  it('strips a client\'s x_api_client sent over HTTP/2, and names the client in x-api-client alone', async () => {
    const daemon = await start();
    const session = await h2Session(daemon.url, { ca: ca.cert });
    try {
      const got = await h2Request(session, { ':path': '/api/v1/edit', 'x-api-key': KEY, x_api_client: 'bob' });
      expect(got.status).to.equal(200);
      expect(Object.keys(seen[0]!.headers).filter((name) => name.replaceAll('_', '-') === 'x-api-client')).to.deep.equal(['x-api-client']);
      expect(seen[0]!.headers['x-api-client']).to.equal('default');
    } finally {
      session.close();
      await daemon.shutdown('test');
    }
  });

  it('answers an HTTP/2 body over the limit with 413 and no Connection header', async () => {
    const daemon = await start(['--max-body', '4']);
    const session = await h2Session(daemon.url, { ca: ca.cert });
    try {
      const declared = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': KEY, 'content-length': '10' }, [Buffer.from('0123456789')]);
      expect(declared.status).to.equal(413);
      expect(declared.headers).to.not.have.property('connection');
      const streamed = await h2Request(session, { ':method': 'POST', ':path': '/api/v1/edit', 'x-api-key': KEY }, [Buffer.from('0123456789')]);
      expect(streamed.status).to.equal(413);
      expect(streamed.headers).to.not.have.property('connection');
    } finally {
      session.close();
      await daemon.shutdown('test');
    }
  });

  it('relays an answer over HTTP/2 while draining, without a Connection header', async () => {
    const daemon = await start();
    const session = await h2Session(daemon.url, { ca: ca.cert });
    try {
      const answer = h2Request(session, { ':path': '/api/v1/hold', 'x-api-key': KEY });
      await waitFor(() => held.length === 1, 'the forwarded request', 5000);
      const draining = daemon.shutdown('test');
      held[0]!.end('late');
      const answered = await answer;
      expect([answered.status, answered.body]).to.deep.equal([200, 'late']);
      expect(answered.headers).to.not.have.property('connection');
      session.close();
      await draining;
    } finally {
      session.close();
      await daemon.shutdown('test');
    }
  });
});

describe('startDaemon without TLS beyond loopback', () => {
  it('warns that keys cross the network readable', async () => {
    const { dir, cleanup } = await tempDir();
    const log = captureLogger();
    try {
      await mkdir(join(dir, 'api'));
      const config = loadConfig(['--port', '0', '--host', '0.0.0.0', '--key-file', join(dir, 'api', '.api_key')], { QWEN_API_KEY: KEY }) as Config;
      const daemon = await startDaemon(config, log.logger, '1.2.3');
      await daemon.shutdown('test');
      expect(log.lines.find((l) => l.message === 'listening beyond loopback without TLS: keys cross the network readable; use --tls-cert and --tls-key'))
        .to.deep.include({ level: 'warn', host: '0.0.0.0' });
    } finally {
      await cleanup();
    }
  });
});
