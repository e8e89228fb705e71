import { expect } from 'chai';
import { Agent } from 'node:https';
import { request } from 'node:https';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprintOf, makeLeaf } from '../../helpers/certificates.js';
import type { CertFiles } from '../../helpers/certificates.js';
import { eventually } from '../../helpers/server-process.js';
import { h2Request, h2Session, servedFingerprint } from '../../helpers/tls-clients.js';
import { installByRename, metricValue, servedWithin, startTlsServer, tlsSetup } from '../../helpers/tls-server.js';
import type { TlsServer, TlsSetup } from '../../helpers/tls-server.js';

// A renewed certificate reaches new handshakes without a restart, however it is written: renamed into
// place, written as two files with a gap between them (certbot), or swapped in a Secret volume
// (cert-manager). Connections already open keep working.
describe('server process: the certificate hot-reloads', function () {
  this.timeout(30_000);
  let setup: TlsSetup;
  let server: TlsServer | undefined;

  beforeEach(async () => {
    setup = await tlsSetup();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await setup?.cleanup();
  });

  it('serves a pair renamed into place to new handshakes within 1 s', async () => {
    server = await startTlsServer(setup);
    const next = await makeLeaf(setup.ca);
    await installByRename(next.key, setup.certKeyFile);
    await installByRename(next.cert, setup.certFile);
    const ms = await servedWithin(server, setup, fingerprintOf(next.cert), Date.now());
    console.log(`      (renamed pair served after ${ms} ms)`);
    const loaded = await server.waitForLine((l) => l.message === 'TLS certificate loaded' && l.fingerprintSha256 === fingerprintOf(next.cert));
    expect(String(loaded.trigger)).to.not.equal('initialise');
  });

  it('keeps the old pair through the gap between two separate writes, and serves the new one within 1 s of the second', async () => {
    server = await startTlsServer(setup);
    const old = fingerprintOf(setup.first.cert);
    const next = await makeLeaf(setup.ca);
    await writeFile(setup.certFile, await readFile(next.cert)); // the certificate first, in place
    // (An in-place write may first be read half done: that is a rejection too, with another reason.)
    const rejected = await server.waitForLine((l) => l.message === 'TLS certificate or key rejected; keeping the pair in force'
      && l.reason === 'TLS_KEY_MISMATCH');
    expect(rejected).to.include({ level: 'warn', fingerprintSha256: old });
    // The settle re-check after the write finds the same mismatch: still the old pair, on every handshake.
    await eventually(async () => ((await metricValue(server!, setup, 'qwen_tls_certificate_reloads_total{result="rejected"}')) ?? 0) >= 2);
    for (let i = 0; i < 5; i++) expect(await servedFingerprint(server.port, { ca: setup.ca.cert })).to.equal(old);
    const keyWrittenAt = Date.now();
    await writeFile(setup.certKeyFile, await readFile(next.key)); // then the key
    const ms = await servedWithin(server, setup, fingerprintOf(next.cert), keyWrittenAt);
    console.log(`      (pair served ${ms} ms after its second write)`);
  });

  it('picks up a cert-manager Secret volume swapped through ..data', async () => {
    const volume = join(setup.dir, 'secret');
    await mkdir(volume);
    let serial = 0;
    const publish = async (pair: CertFiles, first: boolean): Promise<number> => {
      const stamp = `..2026_12_01_00_00_00.${++serial}`;
      await mkdir(join(volume, stamp));
      await copyFile(pair.cert, join(volume, stamp, 'tls.crt'));
      await copyFile(pair.key, join(volume, stamp, 'tls.key'));
      await copyFile(setup.ca.cert, join(volume, stamp, 'ca.crt'));
      if (first) {
        await symlink(stamp, join(volume, '..data'));
        for (const name of ['tls.crt', 'tls.key', 'ca.crt']) await symlink(`..data/${name}`, join(volume, name));
        return Date.now();
      }
      await symlink(stamp, join(volume, '..data_tmp'));
      const swappedAt = Date.now();
      await rename(join(volume, '..data_tmp'), join(volume, '..data'));
      await rm(join(volume, `..2026_12_01_00_00_00.${serial - 1}`), { recursive: true });
      return swappedAt;
    };
    await publish(setup.first, true);
    server = await startTlsServer({ ...setup, certFile: join(volume, 'tls.crt'), certKeyFile: join(volume, 'tls.key') });
    const next = await makeLeaf(setup.ca);
    const swappedAt = await publish(next, false);
    const ms = await servedWithin(server, setup, fingerprintOf(next.cert), swappedAt);
    console.log(`      (Secret volume swap served after ${ms} ms)`);
  });

  it('picks up certbot\'s live/ links re-pointed one after the other to the renewed files in archive/', async () => {
    // certbot keeps every version in archive/NAME/ and points live/NAME/*.pem at the latest ones.
    const archive = join(setup.dir, 'letsencrypt', 'archive', 'example');
    const live = join(setup.dir, 'letsencrypt', 'live', 'example');
    await mkdir(archive, { recursive: true });
    await mkdir(live, { recursive: true });
    const link = async (name: string, target: string): Promise<void> => {
      await symlink(`../../archive/example/${target}`, join(live, `${name}.tmp`));
      await rename(join(live, `${name}.tmp`), join(live, name));
    };
    const version = async (pair: CertFiles, n: number): Promise<void> => {
      await copyFile(pair.cert, join(archive, `fullchain${n}.pem`));
      await copyFile(pair.key, join(archive, `privkey${n}.pem`));
      await link('fullchain.pem', `fullchain${n}.pem`);
      await link('privkey.pem', `privkey${n}.pem`);
    };
    await version(setup.first, 1);
    server = await startTlsServer({ ...setup, certFile: join(live, 'fullchain.pem'), certKeyFile: join(live, 'privkey.pem') });
    const next = await makeLeaf(setup.ca);
    await version(next, 2);
    const ms = await servedWithin(server, setup, fingerprintOf(next.cert), Date.now());
    console.log(`      (certbot renewal served after ${ms} ms)`);
  });

  it('re-reads the certificate on SIGHUP, for a change the watch cannot see (a link\'s far target rewritten in place)', async () => {
    const far = join(setup.dir, 'elsewhere');
    await mkdir(far);
    await copyFile(setup.first.cert, join(far, 'cert.pem'));
    await copyFile(setup.first.key, join(far, 'key.pem'));
    const links = join(setup.dir, 'links');
    await mkdir(links);
    await symlink(join(far, 'cert.pem'), join(links, 'tls.crt'));
    await symlink(join(far, 'key.pem'), join(links, 'tls.key'));
    server = await startTlsServer({ ...setup, certFile: join(links, 'tls.crt'), certKeyFile: join(links, 'tls.key') });
    const next = await makeLeaf(setup.ca);
    await writeFile(join(far, 'key.pem'), await readFile(next.key));
    await writeFile(join(far, 'cert.pem'), await readFile(next.cert));
    const signalledAt = Date.now();
    server.child.kill('SIGHUP');
    await servedWithin(server, setup, fingerprintOf(next.cert), signalledAt, 1000);
    const loaded = await server.waitForLine((l) => l.message === 'TLS certificate loaded' && l.fingerprintSha256 === fingerprintOf(next.cert));
    expect(loaded.trigger).to.equal('SIGHUP');
  });

  it('keeps HTTP/2 sessions and HTTP/1.1 keep-alive connections opened before a rotation working', async () => {
    server = await startTlsServer(setup);
    const tls = { ca: setup.ca.cert };
    const session = await h2Session(server.origin, tls);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: await readFile(setup.ca.cert) });
    const h1 = (): Promise<{ status: number; reused: boolean; fingerprint: string }> => new Promise((resolve, reject) => {
      const req = request(`${server!.origin}/livez`, { agent }, (res) => {
        res.resume();
        const socket = res.socket as import('node:tls').TLSSocket;
        res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, fingerprint: socket.getPeerCertificate().fingerprint256 }));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      const old = fingerprintOf(setup.first.cert);
      expect((await h1()).fingerprint).to.equal(old);
      expect((await h2Request(session, { ':path': '/livez' })).status).to.equal(200);
      const next = await makeLeaf(setup.ca);
      await installByRename(next.key, setup.certKeyFile);
      await installByRename(next.cert, setup.certFile);
      await servedWithin(server, setup, fingerprintOf(next.cert), Date.now());
      expect(await h1()).to.deep.equal({ status: 200, reused: true, fingerprint: old });
      const h2 = await h2Request(session, { ':path': '/api/v1/health', 'x-api-key': setup.apiKey });
      expect(h2.status).to.equal(200);
      expect((JSON.parse(h2.body) as { tls: { fingerprintSha256: string } }).tls.fingerprintSha256).to.equal(fingerprintOf(next.cert));
    } finally {
      session.close();
      agent.destroy();
    }
  });
});
