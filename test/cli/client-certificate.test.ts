import { expect } from 'chai';
import { once } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli } from '../../src/cli/commands.js';
import { makeCa, makeLeaf } from '../helpers/certificates.js';
import type { CertFiles, TestCa } from '../helpers/certificates.js';
import { tempDir } from '../core/helpers.js';

// `manage-key test --url https://… --cert F --cert-key F` in process, against an HTTPS server on loopback that
// requires client certificates from its CA, as the daemon does with --tls-ca.
describe('manage-key test with a client certificate (in process)', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let client: CertFiles;
  let stranger: CertFiles;
  let server: Server;
  let url: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
    const [pair, ours, theirs] = await Promise.all([makeLeaf(ca), makeLeaf(ca, { cn: 'client-1', client: true }),
      makeLeaf(await makeCa(join(dir, 'other'), 'Other CA'), { cn: 'client-2', client: true })]);
    client = ours;
    stranger = theirs;
    const [cert, key, caCert] = await Promise.all([readFile(pair.cert), readFile(pair.key), readFile(ca.cert)]);
    // Any key is accepted: what is tested here is the handshake, which a request without a client certificate never gets past.
    server = createServer({ cert, key, ca: caCert, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('{}'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await mkdir(join(dir, 'api'));
    await run(['generate']);
  });
  after(async () => {
    server?.closeAllConnections();
    server?.close();
    await cleanup?.();
  });

  async function run(argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd: dir, clock: () => new Date() });
    return { code, stdout, stderr };
  }

  it('is accepted with a client certificate from the server\'s CA (--cert, --cert-key)', async () => {
    const r = await run(['test', '--url', url, '--ca', ca.cert, '--cert', client.cert, '--cert-key', client.key]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^ok +current key sha256:[0-9a-f]{12}: accepted \(HTTP 200\)$/m);
  });

  it('without one, says that the server may require a client certificate, and how to give it', async () => {
    const r = await run(['test', '--url', url, '--ca', ca.cert]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(new RegExp(`^manage-key: cannot reach the server at ${url}/ \\([A-Z_]+; `
      + 'the server may require a client certificate: give one with --cert FILE --cert-key FILE\\)\\n$'));
  });

  it('with a certificate from another CA, says that the server may not accept it', async () => {
    const r = await run(['test', '--url', url, '--ca', ca.cert, '--cert', stranger.cert, '--cert-key', stranger.key]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/\(\w+; the server may not accept this client certificate \(--cert\)\)\n$/);
  });

  it('with a key that is not the certificate\'s, says so', async () => {
    const r = await run(['test', '--url', url, '--ca', ca.cert, '--cert', client.cert, '--cert-key', stranger.key]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('(ERR_OSSL_X509_KEY_VALUES_MISMATCH; --cert-key is not the private key of the --cert certificate)');
  });

  it('fails with one line naming a client certificate file that is not there', async () => {
    const r = await run(['test', '--url', url, '--ca', ca.cert, '--cert', join(dir, 'missing.crt'), '--cert-key', client.key]);
    expect([r.code, r.stderr]).to.deep.equal([1, `manage-key: cannot open ${join(dir, 'missing.crt')}: no such file or directory (ENOENT)\n`]);
  });
});
