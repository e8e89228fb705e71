import { expect } from 'chai';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCa, makeLeaf } from '../helpers/certificates.js';
import type { TestCa } from '../helpers/certificates.js';
import { spawnServer, tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { keyFrom, manageKey } from './harness.js';

// `manage-key test --url https://…` against the real server serving TLS: a private CA is trusted only
// when given with --ca; without it the check fails, naming the certificate problem.
describe('integration: manage-key test over HTTPS', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let other: TestCa;
  let server: ServerProcess;
  let url: string;
  let key: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    // The directory a server runs in has api/ (generate refuses elsewhere).
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    key = await keyFrom(['generate'], dir);
    ca = await makeCa(join(dir, 'ca'));
    other = await makeCa(join(dir, 'other-ca'), 'Other CA');
    const pair = await makeLeaf(ca);
    server = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key'), '--tls-cert', pair.cert, '--tls-key', pair.key] });
    url = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const test = async (args: string[]) => {
    const done = await manageKey(['test', '--url', url, ...args], dir);
    // Checked first, so that no later assertion message can print a key.
    expect((done.stdout + done.stderr).includes(key), 'the key in manage-key test output').to.equal(false);
    return done;
  };

  it('exits 0 when the server, verified against --ca, accepts the key', async () => {
    const done = await test(['--ca', ca.cert]);
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.match(/^ok +current key sha256:[0-9a-f]{12}: accepted \(HTTP 200\)$/m);
  });

  it('exits 1 without --ca: the certificate is not trusted, and the message says to give the CA', async () => {
    const done = await test([]);
    expect(done.code).to.equal(1);
    expect(done.stderr).to.match(/^manage-key: cannot reach the server at https:\/\/127\.0\.0\.1:\d+\/ \([A-Z_]+; give the server's CA with --ca FILE\)\n$/);
  });

  it('exits 1 with the CA of someone else', async () => {
    const done = await test(['--ca', other.cert]);
    expect(done.code).to.equal(1);
    expect(done.stderr).to.include('give the server\'s CA with --ca FILE');
  });

  describe('a server that requires client certificates (--tls-ca)', () => {
    let mtls: ServerProcess;
    let client: { cert: string; key: string };
    before(async () => {
      const pair = await makeLeaf(ca);
      client = await makeLeaf(ca, { cn: 'client-1', client: true });
      mtls = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key'), '--tls-cert', pair.cert, '--tls-key', pair.key,
        '--tls-ca', ca.cert] });
    });
    after(() => mtls?.stop());

    const mtlsTest = async (args: string[]) => {
      const done = await manageKey(['test', '--url', `https://127.0.0.1:${mtls.port}`, '--ca', ca.cert, ...args], dir);
      expect((done.stdout + done.stderr).includes(key), 'the key in manage-key test output').to.equal(false);
      return done;
    };

    it('exits 0 with a client certificate from that CA (--cert, --cert-key)', async () => {
      const done = await mtlsTest(['--cert', client.cert, '--cert-key', client.key]);
      expect(done.code, done.stderr).to.equal(0);
      expect(done.stdout).to.match(/^ok +current key sha256:[0-9a-f]{12}: accepted \(HTTP 200\)$/m);
    });

    it('exits 1 without one, saying that the server may require a client certificate', async () => {
      const done = await mtlsTest([]);
      expect(done.code).to.equal(1);
      expect(done.stderr).to.match(/^manage-key: cannot reach the server at https:\/\/127\.0\.0\.1:\d+\/ \([A-Z_]+; the server may require a client certificate: give one with --cert FILE --cert-key FILE\)\n$/);
    });
  });
});
