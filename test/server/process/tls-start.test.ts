import { expect } from 'chai';
import { join } from 'node:path';
import { makeCa, makeLeaf } from '../../helpers/certificates.js';
import type { TestCa } from '../../helpers/certificates.js';
import { keyFileWith, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';
import { generateKey } from '../../../src/core/key.js';

// Start-up with TLS flags: a certificate that cannot serve stops the server with one clear line, before
// it listens; a short-lived one starts with a warning; half the flags is a usage error.
describe('server process: starting with TLS flags', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let keyFile: string;
  let ca: TestCa;
  const started: ServerProcess[] = [];

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const key = generateKey();
    registerSecret(key);
    keyFile = await keyFileWith(dir, key);
    ca = await makeCa(join(dir, 'ca'));
  });
  afterEach(async () => {
    for (const server of started.splice(0)) await server.stop();
  });
  after(() => cleanup?.());

  const start = async (args: string[], waitListening = false): Promise<ServerProcess> => {
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile, ...args], waitListening });
    started.push(server);
    return server;
  };
  /** The server's whole output once it has exited on its own. */
  const failedStart = async (args: string[]) => {
    const server = await start(args);
    const { code } = await server.exited;
    return { code, lines: server.stdout().split('\n').filter(Boolean), stderr: server.stderr(), parsed: server.lines() };
  };

  it('refuses an expired certificate: exit 1 with one line saying it expired, and never listens', async () => {
    const expired = await makeLeaf(ca, { days: -1 });
    const run = await failedStart(['--tls-cert', expired.cert, '--tls-key', expired.key]);
    expect(run.code).to.equal(1);
    expect(run.lines).to.have.length(1);
    expect(run.parsed[0]).to.include({ level: 'error', message: 'cannot start' });
    expect(String(run.parsed[0]!.error)).to.match(new RegExp(`^the certificate ${expired.cert} \\(CN=localhost\\) expired at \\d{4}-.*Z; renew it$`));
  });

  it('refuses a key that does not belong to the certificate: exit 1, one line naming both files', async () => {
    const [a, b] = [await makeLeaf(ca), await makeLeaf(ca)];
    const run = await failedStart(['--tls-cert', a.cert, '--tls-key', b.key]);
    expect(run.code).to.equal(1);
    expect(run.lines).to.have.length(1);
    expect(String(run.parsed[0]!.error)).to.equal(`the private key ${b.key} does not belong to the certificate ${a.cert}`);
  });

  it('refuses a missing certificate file with one line naming it', async () => {
    const a = await makeLeaf(ca);
    const run = await failedStart(['--tls-cert', join(dir, 'nope.pem'), '--tls-key', a.key]);
    expect(run.code).to.equal(1);
    expect(String(run.parsed[0]!.error)).to.equal(`cannot read the certificate ${join(dir, 'nope.pem')} (ENOENT)`);
  });

  it('exits 2 with one line on stderr when only one of --tls-cert and --tls-key is given', async () => {
    const a = await makeLeaf(ca);
    const run = await failedStart(['--tls-cert', a.cert]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.equal('qwen-key-daemon: --tls-cert and --tls-key go together (only --tls-cert / QWEN_TLS_CERT is set)\n');
  });

  it('takes the pair from QWEN_TLS_CERT and QWEN_TLS_KEY', async () => {
    const a = await makeLeaf(ca);
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile], env: { QWEN_TLS_CERT: a.cert, QWEN_TLS_KEY: a.key } });
    started.push(server);
    expect(server.lines().find((l) => l.message === 'listening')!.url).to.match(/^https:\/\//);
  });

  it('warns at start when the certificate has fewer than 14 days left', async () => {
    const short = await makeLeaf(ca, { days: 5 });
    const server = await start(['--tls-cert', short.cert, '--tls-key', short.key], true);
    const warning = await server.waitForLine((l) => String(l.message).startsWith('TLS certificate expires in fewer than 14 days'));
    expect(warning).to.include({ level: 'warn', subject: 'CN=localhost' });
    expect(warning.daysLeft).to.be.within(3, 4);
  });

  it('warns when listening beyond loopback without TLS', async () => {
    const server = await start(['--host', '0.0.0.0'], true);
    const warning = await server.waitForLine((l) => String(l.message).startsWith('listening beyond loopback without TLS'));
    expect(warning).to.include({ level: 'warn', host: '0.0.0.0' });
  });

  it('does not warn about 0.0.0.0 when serving TLS, nor about loopback without it', async () => {
    const a = await makeLeaf(ca);
    const exposed = await start(['--host', '0.0.0.0', '--tls-cert', a.cert, '--tls-key', a.key], true);
    const local = await start(['--host', '127.0.0.1'], true);
    for (const server of [exposed, local]) {
      await server.stop(); // all its output is in
      expect(server.lines().filter((l) => String(l.message).startsWith('listening beyond loopback'))).to.deep.equal([]);
    }
  });
});
