import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { fingerprintOf, makeLeaf } from '../../helpers/certificates.js';
import { eventually } from '../../helpers/server-process.js';
import { httpsFetch, servedFingerprint } from '../../helpers/tls-clients.js';
import { installByRename, metricValue, servedWithin, startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

const REJECTED = 'TLS certificate or key rejected; keeping the pair in force';
const REJECTED_COUNT = 'qwen_tls_certificate_reloads_total{result="rejected"}';

// Files that do not make a usable pair never reach a handshake: the pair in force stays, the rejection is
// logged (once per streak) and counted, health says what happened, and readiness is unaffected.
describe('server process: a certificate that cannot serve is kept out', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let server: TlsServer;
  let old: string;

  beforeEach(async () => {
    setup = await tlsSetup();
    server = await startTlsServer(setup);
    old = fingerprintOf(setup.first.cert);
  });
  afterEach(async () => {
    await server?.stop();
    await setup?.cleanup();
  });

  /** Waits until at least `count` re-reads were rejected, then checks the old pair is still what handshakes get. */
  const stillServingOld = async (count: number): Promise<void> => {
    await eventually(async () => ((await metricValue(server, setup, REJECTED_COUNT)) ?? 0) >= count);
    expect(await servedFingerprint(server.port, { ca: setup.ca.cert })).to.equal(old);
  };

  it('keeps a mismatched pair out: logged once at warn, counted on every re-read, shown in health', async () => {
    const [a, b] = [await makeLeaf(setup.ca), await makeLeaf(setup.ca)];
    await installByRename(b.key, setup.certKeyFile);
    await installByRename(a.cert, setup.certFile);
    // At warn once the writes have settled (a re-read between the two renames is only debug), then quiet.
    await server.waitForLine((l) => l.message === REJECTED && l.level === 'warn');
    await stillServingOld(2);
    const lines = server.lines().filter((l) => l.message === REJECTED && l.reason === 'TLS_KEY_MISMATCH');
    expect(lines.map((l) => l.level)).to.deep.equal(['warn']);
    expect(String(lines[0]!.error)).to.equal(`the private key ${setup.certKeyFile} does not belong to the certificate ${setup.certFile}`);
    const health = await httpsFetch(`${server.origin}/api/v1/health`, { ca: setup.ca.cert }, { headers: { 'X-API-Key': setup.apiKey } });
    const { tls } = JSON.parse(health.body) as { tls: { fingerprintSha256: string; lastReload: Record<string, unknown> } };
    expect(tls.fingerprintSha256).to.equal(old);
    expect(tls.lastReload).to.include({ outcome: 'rejected', reason: 'TLS_KEY_MISMATCH' });
  });

  it('keeps an expired certificate out, with an error saying so, and stays ready', async () => {
    const expired = await makeLeaf(setup.ca, { days: -1 });
    await installByRename(expired.key, setup.certKeyFile);
    await installByRename(expired.cert, setup.certFile);
    const line = await server.waitForLine((l) => l.message === REJECTED && l.reason === 'TLS_CERT_EXPIRED');
    expect(String(line.error)).to.match(new RegExp(`^the certificate ${setup.certFile} \\(CN=localhost\\) expired at .*; renew it$`));
    await stillServingOld(1);
    expect((await httpsFetch(`${server.origin}/readyz`, { ca: setup.ca.cert })).status).to.equal(200);
  });

  it('keeps a half-written certificate out until the rest of it arrives', async () => {
    const next = await makeLeaf(setup.ca);
    await installByRename(next.key, setup.certKeyFile); // key first: a mismatch until the certificate follows
    const pem = await readFile(next.cert, 'utf8');
    await writeFile(setup.certFile, pem.slice(0, Math.floor(pem.length / 2)));
    await server.waitForLine((l) => l.message === REJECTED && l.reason === 'TLS_CERT_INVALID');
    await stillServingOld(2);
    const completedAt = Date.now();
    await writeFile(setup.certFile, pem);
    await servedWithin(server, setup, fingerprintOf(next.cert), completedAt);
  });

  it('keeps an emptied key file out', async () => {
    await writeFile(setup.certKeyFile, '');
    const line = await server.waitForLine((l) => l.message === REJECTED);
    expect(line.reason).to.equal('TLS_KEY_INVALID');
    await stillServingOld(1);
    expect(server.stdout()).to.not.include('PRIVATE KEY');
  });
});
