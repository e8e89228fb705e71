import { expect } from 'chai';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import { Registry } from 'prom-client';
import { startTls } from '../../../src/server/tls/tls-service.js';
import { TlsError } from '../../../src/server/tls/tls-error.js';
import { fingerprintOf, makeCa, makeLeaf } from '../../helpers/certificates.js';
import type { CertFiles, TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';
import { captureLogger, waitFor } from '../reload/helpers.js';

describe('startTls', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let first: CertFiles;
  let second: CertFiles;
  let shortLived: CertFiles;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
    [first, second, shortLived] = await Promise.all([makeLeaf(ca), makeLeaf(ca), makeLeaf(ca, { days: 5 })]);
  });
  after(() => cleanup());

  /** The pair's files copied where a test may replace them. */
  async function filesOf(pair: CertFiles, key: CertFiles = pair): Promise<{ cert: string; key: string }> {
    const home = join(dir, `s-${Math.random().toString(36).slice(2)}`);
    await mkdir(home);
    const files = { cert: join(home, 'tls.crt'), key: join(home, 'tls.key') };
    await copyFile(pair.cert, files.cert);
    await copyFile(key.key, files.key);
    return files;
  }
  const watches = (): number => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;

  it('loads the pair for the server, without client certificates unless a CA is given', async () => {
    const files = await filesOf(first);
    const plain = await startTls({ files, watchMode: 'events', logger: captureLogger().logger, registry: new Registry() });
    const mutual = await startTls({ files: { ...files, ca: ca.cert }, watchMode: 'events', logger: captureLogger().logger, registry: new Registry() });
    try {
      expect(plain.listenOptions.requireClientCertificates).to.equal(false);
      expect(mutual.listenOptions.requireClientCertificates).to.equal(true);
      expect(plain.listenOptions.context).to.have.property('cert');
      expect(plain.summary()).to.deep.include({ fingerprintSha256: fingerprintOf(first.cert), clientCertificates: false });
      expect(mutual.summary()!.clientCertificates).to.equal(true);
    } finally {
      await plain.close();
      await mutual.close();
    }
  });

  it('refuses a pair that cannot serve, with a TlsError', async () => {
    const files = await filesOf(first, second);
    let error: unknown;
    await startTls({ files, watchMode: 'events', logger: captureLogger().logger, registry: new Registry() }).catch((err: unknown) => { error = err; });
    expect(error).to.be.an.instanceOf(TlsError);
    expect((error as TlsError).code).to.equal('TLS_KEY_MISMATCH');
  });

  it('warns at start about a certificate with fewer than 14 days left', async () => {
    const log = captureLogger();
    const service = await startTls({ files: await filesOf(shortLived), watchMode: 'events', logger: log.logger, registry: new Registry() });
    try {
      expect(log.lines.map((l) => l.message)).to.include('TLS certificate expires in fewer than 14 days; renew it');
    } finally {
      await service.close();
    }
  });

  it('once watching, hands a new pair written over the files to the server, and counts the re-read', async () => {
    const files = await filesOf(first);
    const registry = new Registry();
    const service = await startTls({ files, watchMode: 'events', logger: captureLogger().logger, registry });
    const applied: SecureContextOptions[] = [];
    try {
      await service.watch({ setSecureContext: (context: SecureContextOptions) => applied.push(context) } as unknown as TlsServer);
      await copyFile(second.key, files.key);
      await copyFile(second.cert, files.cert);
      await waitFor(() => service.summary()?.fingerprintSha256 === fingerprintOf(second.cert), 'the new pair', 5000, 10);
      expect(applied.length).to.be.greaterThan(0);
      expect(await registry.metrics()).to.match(/qwen_tls_certificate_reloads_total\{result="loaded"\} 1\n/);
    } finally {
      await service.close();
    }
  });

  it('re-reads the files when asked', async () => {
    const files = await filesOf(first);
    const service = await startTls({ files, watchMode: 'events', logger: captureLogger().logger, registry: new Registry() });
    try {
      expect(await service.reload('SIGHUP')).to.equal('unchanged');
      await copyFile(second.key, files.key);
      await copyFile(second.cert, files.cert);
      expect(await service.reload('SIGHUP')).to.equal('loaded');
    } finally {
      await service.close();
    }
  });

  it('watches the client CA too', async () => {
    const files = await filesOf(first);
    const caFile = join(dir, `ca-${Math.random().toString(36).slice(2)}.pem`);
    await copyFile(ca.cert, caFile);
    const service = await startTls({ files: { ...files, ca: caFile }, watchMode: 'events', logger: captureLogger().logger, registry: new Registry() });
    try {
      await service.watch({ setSecureContext: () => {} } as unknown as TlsServer);
      const other = await makeCa(join(dir, 'other-ca'), 'Other CA');
      await copyFile(other.cert, caFile);
      await waitFor(() => service.summary()!.lastReload.trigger !== 'initialise', 'a re-read for the new CA', 5000, 10);
      expect(service.summary()!.lastReload.outcome).to.equal('loaded');
    } finally {
      await service.close();
    }
  });

  it('closes every watch', async () => {
    const before = watches();
    const service = await startTls({ files: await filesOf(first), watchMode: 'events', logger: captureLogger().logger, registry: new Registry() });
    await service.watch({ setSecureContext: () => {} } as unknown as TlsServer);
    expect(watches()).to.be.greaterThan(before);
    await service.close();
    await waitFor(() => watches() === before, 'the watches to close', 3000, 10);
  });
});
