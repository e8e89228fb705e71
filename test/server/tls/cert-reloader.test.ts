import { expect } from 'chai';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { CertReloader } from '../../../src/server/tls/cert-reloader.js';
import type { CertReloadOutcome } from '../../../src/server/tls/cert-reloader.js';
import { fingerprintOf, makeCa, makeLeaf } from '../../helpers/certificates.js';
import type { CertFiles, TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';
import { captureLogger } from '../reload/helpers.js';

describe('certificate reloader', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let first: CertFiles;
  let second: CertFiles;
  let files: { cert: string; key: string };

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
    [first, second] = [await makeLeaf(ca), await makeLeaf(ca)];
    await mkdir(join(dir, 'tls'));
    files = { cert: join(dir, 'tls', 'tls.crt'), key: join(dir, 'tls', 'tls.key') };
  });
  after(() => cleanup());

  /** Installs `pair` (or a certificate from one pair and the key from another) as the watched files. */
  const install = async (cert: CertFiles, key: CertFiles = cert) => {
    await copyFile(cert.cert, files.cert);
    await copyFile(key.key, files.key);
  };
  const started = async () => {
    await install(first);
    const log = captureLogger();
    const outcomes: CertReloadOutcome[] = [];
    const applied: SecureContextOptions[] = [];
    const reloader = new CertReloader({ files, logger: log.logger, onReload: (o) => outcomes.push(o) });
    await reloader.initialise();
    reloader.attach((context) => applied.push(context));
    return { reloader, log, outcomes, applied };
  };

  it('puts a new consistent pair in force and hands it to the server', async () => {
    const { reloader, applied } = await started();
    await install(second);
    expect(await reloader.reload('change:tls.crt')).to.equal('loaded');
    expect(applied).to.have.length(1);
    expect(reloader.summary).to.include({ fingerprintSha256: fingerprintOf(second.cert) });
    expect(reloader.summary!.lastReload).to.include({ outcome: 'loaded', trigger: 'change:tls.crt' });
  });

  it('finds unchanged files unchanged, without touching the server', async () => {
    const { reloader, applied, log } = await started();
    const before = log.lines.length;
    expect(await reloader.reload('backstop')).to.equal('unchanged');
    expect(applied).to.deep.equal([]);
    expect(log.lines.length).to.equal(before);
  });

  it('keeps a mismatched pair out: counted every time, logged at warn once per streak', async () => {
    const { reloader, applied, log, outcomes } = await started();
    await install(second, first);
    expect(await reloader.reload('change:tls.crt')).to.equal('rejected');
    expect(await reloader.reload('settle')).to.equal('rejected');
    expect(applied).to.deep.equal([]);
    expect(outcomes).to.deep.equal(['rejected', 'rejected']);
    const rejections = log.lines.filter((l) => l.message === 'TLS certificate or key rejected; keeping the pair in force');
    expect(rejections.map((l) => [l.level, l.reason])).to.deep.equal([['debug', 'TLS_KEY_MISMATCH'], ['warn', 'TLS_KEY_MISMATCH']]);
    expect(await reloader.reload('backstop')).to.equal('rejected');
    expect(log.lines.filter((l) => l.level === 'warn')).to.have.length(1);
    expect(reloader.summary).to.include({ fingerprintSha256: fingerprintOf(first.cert) });
    expect(reloader.summary!.lastReload).to.include({ outcome: 'rejected', reason: 'TLS_KEY_MISMATCH', trigger: 'settle' });
  });

  it('leaves a mismatch seen on a watch event at debug when the rest of the renewal follows before the writes settle', async () => {
    const { reloader, log } = await started();
    await install(second, first);
    expect(await reloader.reload('raw-change:tls.crt')).to.equal('rejected');
    await install(second);
    expect(await reloader.reload('raw-change:tls.key')).to.equal('loaded');
    expect(await reloader.reload('settle')).to.equal('unchanged');
    expect(log.lines.filter((l) => l.level === 'warn' || l.level === 'error')).to.deep.equal([]);
  });

  it('loads the pair once its second half arrives after a rejection', async () => {
    const { reloader } = await started();
    await install(second, first);
    expect(await reloader.reload('change:tls.crt')).to.equal('rejected');
    await install(second);
    expect(await reloader.reload('change:tls.key')).to.equal('loaded');
    expect(reloader.summary).to.include({ fingerprintSha256: fingerprintOf(second.cert) });
  });

  it('counts a server that refuses the context as a rejection and keeps the pair in force', async () => {
    const { reloader } = await started();
    reloader.attach(() => { throw new Error('refused'); });
    await install(second);
    expect(await reloader.reload('change:tls.crt')).to.equal('rejected');
    expect(reloader.summary).to.include({ fingerprintSha256: fingerprintOf(first.cert) });
  });

  it('records and logs the pair loaded at start by its public facts, as loaded on initialise', async () => {
    const { reloader, log } = await started();
    const loaded = log.lines.filter((l) => l.message === 'TLS certificate loaded');
    const { notAfter } = reloader.summary!;
    expect(loaded).to.have.length(1);
    expect(loaded[0]).to.include({ level: 'info', fingerprintSha256: fingerprintOf(first.cert), subject: 'CN=localhost',
      notAfter: notAfter.toISOString(), trigger: 'initialise' });
    expect(reloader.summary!.lastReload).to.include({ outcome: 'loaded', trigger: 'initialise' });
  });

  it('leaves the last reload as it was when unchanged files are re-read outside a rejection streak', async () => {
    const { reloader } = await started();
    expect(await reloader.reload('backstop')).to.equal('unchanged');
    expect(reloader.summary!.lastReload).to.include({ outcome: 'loaded', trigger: 'initialise' });
  });

  it('records the end of a rejection streak when the files are back to the pair in force', async () => {
    const { reloader } = await started();
    await install(second, first);
    expect(await reloader.reload('SIGHUP')).to.equal('rejected');
    await install(first);
    expect(await reloader.reload('backstop')).to.equal('unchanged');
    expect(reloader.summary!.lastReload).to.include({ outcome: 'unchanged', trigger: 'backstop' });
    expect(reloader.summary).to.include({ fingerprintSha256: fingerprintOf(first.cert) });
  });

  it('names a rejection that is no TlsError TLS_CONTEXT_FAILED, and logs the fingerprint of the pair kept in force', async () => {
    const { reloader, log } = await started();
    reloader.attach(() => { throw new Error('refused'); });
    await install(second);
    expect(await reloader.reload('SIGHUP')).to.equal('rejected');
    expect(reloader.summary!.lastReload).to.include({ outcome: 'rejected', reason: 'TLS_CONTEXT_FAILED', trigger: 'SIGHUP' });
    const rejected = log.lines.find((l) => l.message === 'TLS certificate or key rejected; keeping the pair in force');
    expect(rejected).to.include({ level: 'warn', reason: 'TLS_CONTEXT_FAILED', error: 'refused', fingerprintSha256: fingerprintOf(first.cert) });
  });

  it('re-reads without a listener, and logs nothing about one', async () => {
    await install(first);
    const log = captureLogger();
    const reloader = new CertReloader({ files, logger: log.logger });
    await reloader.initialise();
    await install(second);
    expect(await reloader.reload('SIGHUP')).to.equal('loaded');
    expect(log.lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
  });

  it('logs a listener that throws at warn and still returns the outcome', async () => {
    await install(first);
    const log = captureLogger();
    const reloader = new CertReloader({ files, logger: log.logger, onReload: () => { throw new Error('metrics broke'); } });
    await reloader.initialise();
    expect(await reloader.reload('SIGHUP')).to.equal('unchanged');
    expect(log.lines.filter((l) => l.message === 'reload listener failed')).to.deep.equal([
      { level: 'warn', message: 'reload listener failed', error: 'metrics broke' },
    ]);
  });

  it('rejects a re-read before any pair is in force without inventing a summary', async () => {
    const log = captureLogger();
    const reloader = new CertReloader({ files: { cert: join(dir, 'none.crt'), key: join(dir, 'none.key') }, logger: log.logger });
    expect(await reloader.reload('SIGHUP')).to.equal('rejected');
    expect(reloader.summary).to.equal(undefined);
    expect(log.lines.find((l) => l.level === 'warn')).to.include({ reason: 'TLS_FILE_MISSING' }).and.not.have.property('fingerprintSha256');
  });

  it('refuses to start on a pair that does not match', async () => {
    await install(first, second);
    const reloader = new CertReloader({ files, logger: captureLogger().logger });
    const error = await reloader.initialise().then(() => undefined, (err: Error & { code?: string }) => err.code);
    expect(error).to.equal('TLS_KEY_MISMATCH');
  });
});
