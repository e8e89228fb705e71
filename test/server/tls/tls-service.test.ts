import { expect } from 'chai';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import { Registry } from 'prom-client';
import sinon from 'sinon';
import type { FileWatcherOptions } from '../../../src/server/reload/file-watcher.js';
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

  it('exports the expiry of the certificate in force as a metric', async () => {
    const registry = new Registry();
    const service = await startTls({ files: await filesOf(first), watchMode: 'events', logger: captureLogger().logger, registry });
    try {
      const notAfter = service.summary()!.notAfter.getTime() / 1000;
      expect(await registry.getSingleMetricAsString('qwen_tls_certificate_not_after_seconds')).to.include(`\nqwen_tls_certificate_not_after_seconds ${notAfter}`);
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

  /** A stand-in for the file watch that keeps the options it was started with. */
  const fakeWatch = () => {
    const started: FileWatcherOptions[] = [];
    const watchFiles = async (options: FileWatcherOptions) => {
      started.push(options);
      return { close: async () => {} };
    };
    return { started, watchFiles };
  };
  const server = { setSecureContext: () => {} } as unknown as TlsServer;

  it('watches the certificate and the key, and the client CA when one is named', async () => {
    const files = await filesOf(first);
    const caFile = join(dir, `ca-${Math.random().toString(36).slice(2)}.pem`);
    await copyFile(ca.cert, caFile);
    const watch = fakeWatch();
    const start = (ca?: string) => startTls({ files: { ...files, ca }, watchMode: 'poll', logger: captureLogger().logger,
      registry: new Registry(), watchFiles: watch.watchFiles });
    const [plain, mutual] = [await start(), await start(caFile)];
    try {
      await plain.watch(server);
      await mutual.watch(server);
      expect(watch.started.map((o) => [o.files, o.mode])).to.deep.equal([[[files.cert, files.key], 'poll'], [[files.cert, files.key, caFile], 'poll']]);
    } finally {
      await plain.close();
      await mutual.close();
    }
  });

  it('logs the watch\'s errors at error', async () => {
    const log = captureLogger();
    const watch = fakeWatch();
    const service = await startTls({ files: await filesOf(first), watchMode: 'events', logger: log.logger, registry: new Registry(),
      watchFiles: watch.watchFiles });
    try {
      await service.watch(server);
      watch.started[0]!.onError!(new Error('the watch went away'));
      expect(log.lines.filter((l) => l.level === 'error')).to.deep.equal([{ level: 'error', message: 'TLS watch error', error: 'the watch went away' }]);
    } finally {
      await service.close();
    }
  });

  it('looks at the certificate in force every hour, and warns once it has fewer than 14 days left', async () => {
    const timers = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const log = captureLogger();
    let now = Date.now();
    const service = await startTls({ files: await filesOf(first), watchMode: 'events', logger: log.logger, registry: new Registry(), clock: () => now });
    try {
      const warnings = () => log.lines.filter((l) => l.message === 'TLS certificate expires in fewer than 14 days; renew it');
      expect(warnings()).to.deep.equal([]);
      now += 20 * 86_400_000;
      timers.tick(3_600_000);
      expect(warnings().map((l) => l.fingerprintSha256)).to.deep.equal([fingerprintOf(first.cert)]);
    } finally {
      await service.close();
      timers.restore();
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
