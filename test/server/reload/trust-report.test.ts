import { expect } from 'chai';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileReads } from '../../../src/core/regular-file.js';
import { TrustReport } from '../../../src/server/reload/trust-report.js';
import { captureLogger, tempDir } from './helpers.js';

describe('trust report', () => {
  let dir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  beforeEach(async function () {
    if (process.platform === 'win32') this.skip();
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    keyFile = join(dir, 'api', '.api_key');
    await writeFile(keyFile, 'k\n', { mode: 0o600 });
  });
  afterEach(() => cleanup?.());

  const ALARM = 'key files writable by others; windows from the history are not honoured';

  it('logs an error when others can write, once per change (not at every check), and when it is over', async () => {
    const log = captureLogger();
    const report = new TrustReport({ keyFile, logger: log.logger, reads: new FileReads() });
    expect(await report.check()).to.deep.equal([]);
    expect(log.lines).to.deep.equal([]);
    await chmod(keyFile, 0o660);
    await report.check();
    await report.check();
    expect(log.lines.map((l) => [l.level, l.message])).to.deep.equal([['error', ALARM]]);
    expect(log.lines[0]!.paths).to.deep.equal([keyFile]);
    await chmod(join(dir, 'api'), 0o777);
    await report.check();
    expect(log.lines.filter((l) => l.message === ALARM).length, 'a second error line for a new finding').to.equal(2);
    const findings = report.findings;
    await report.check();
    expect(report.findings, 'the same array while nothing changes').to.equal(findings);
    await chmod(join(dir, 'api'), 0o700);
    await chmod(keyFile, 0o600);
    await report.check();
    expect(log.lines.at(-1)).to.include({ level: 'info', message: 'key files no longer writable by others' });
    expect(report.trusted).to.equal(true);
  });

  it('names the key file when it says the files are private again', async () => {
    const log = captureLogger();
    const report = new TrustReport({ keyFile, logger: log.logger, reads: new FileReads() });
    await chmod(keyFile, 0o660);
    await report.check();
    await chmod(keyFile, 0o600);
    await report.check();
    expect(log.lines.at(-1)).to.deep.equal({ level: 'info', message: 'key files no longer writable by others', keyFile });
  });

  it('keeps the last result, silently, when a check cannot finish (a stalled file system)', async () => {
    const log = captureLogger();
    let stalled = false;
    const reads = new FileReads();
    const within = reads.within.bind(reads);
    reads.within = ((path: string, op: () => Promise<unknown>) => (stalled ? Promise.reject(new Error('stalled')) : within(path, op))) as typeof reads.within;
    const report = new TrustReport({ keyFile, logger: log.logger, reads });
    await chmod(keyFile, 0o660);
    const findings = await report.check();
    expect(findings).to.have.length(1);
    stalled = true;
    await chmod(keyFile, 0o600);
    expect(await report.check()).to.equal(findings);
    expect(report.trusted).to.equal(false);
    expect(log.lines).to.have.length(1);
  });
});
