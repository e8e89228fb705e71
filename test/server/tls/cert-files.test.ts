import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileReads } from '../../../src/core/regular-file.js';
import { MAX_TLS_FILE_BYTES, readTlsFiles } from '../../../src/server/tls/cert-files.js';
import { TlsError } from '../../../src/server/tls/tls-error.js';
import { tempDir } from '../../helpers/server-process.js';

/** The TlsError `fn` rejects with (fails the test when it resolves or rejects with something else). */
async function tlsErrorOf(fn: () => Promise<unknown>): Promise<TlsError> {
  const err = await fn().then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(TlsError);
  return err as TlsError;
}

// The reading alone: the files' bytes are never parsed here, so plain text stands in for PEM.
describe('certificate files: reading', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let cert: string;
  let key: string;
  let ca: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    [cert, key, ca] = ['cert.pem', 'key.pem', 'ca.pem'].map((name) => join(dir, name));
    await Promise.all([writeFile(cert, 'cert bytes'), writeFile(key, 'key bytes'), writeFile(ca, 'ca bytes')]);
  });
  after(() => cleanup());

  it('returns the three files\' bytes, and no CA when none is named', async () => {
    const withCa = await readTlsFiles({ cert, key, ca });
    const withoutCa = await readTlsFiles({ cert, key });
    expect([withCa.cert, withCa.key, withCa.ca].map(String)).to.deep.equal(['cert bytes', 'key bytes', 'ca bytes']);
    expect(withoutCa.ca).to.equal(undefined);
  });

  it('names the missing file, what it was for, and the system error code', async () => {
    const none = join(dir, 'none.pem');
    const messages = await Promise.all([
      tlsErrorOf(() => readTlsFiles({ cert: none, key })),
      tlsErrorOf(() => readTlsFiles({ cert, key: none })),
      tlsErrorOf(() => readTlsFiles({ cert, key, ca: none })),
    ]).then((errors) => errors.map((e) => [e.code, e.message]));
    expect(messages).to.deep.equal([
      ['TLS_FILE_MISSING', `cannot read the certificate ${none} (ENOENT)`],
      ['TLS_FILE_MISSING', `cannot read the private key ${none} (ENOENT)`],
      ['TLS_FILE_MISSING', `cannot read the client CA ${none} (ENOENT)`],
    ]);
  });

  it('counts a path through a regular file (ENOTDIR) as missing', async () => {
    const error = await tlsErrorOf(() => readTlsFiles({ cert: join(cert, 'tls.crt'), key }));
    expect([error.code, error.message]).to.deep.equal(['TLS_FILE_MISSING', `cannot read the certificate ${join(cert, 'tls.crt')} (ENOTDIR)`]);
  });

  it('keeps the underlying error as the cause', async () => {
    const error = await tlsErrorOf(() => readTlsFiles({ cert: join(dir, 'none.pem'), key }));
    expect((error.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  it('says why a FIFO in place of the file is refused, in the reader\'s own words', async () => {
    const fifo = join(dir, 'fifo.pem');
    execFileSync('mkfifo', [fifo]);
    const error = await tlsErrorOf(() => readTlsFiles({ cert, key: fifo }));
    expect([error.code, error.message]).to.deep.equal(
      ['TLS_FILE_UNREADABLE', `cannot read the private key: ${fifo} is a FIFO, not a regular file; only regular files are read`]);
  });

  it('quotes the message of a failure that has no system error code', async () => {
    const reads = new FileReads({ openFile: () => Promise.reject(new Error('the disk went away')) });
    const error = await tlsErrorOf(() => readTlsFiles({ cert, key }, reads));
    expect([error.code, error.message]).to.deep.equal(['TLS_FILE_UNREADABLE', `cannot read the certificate ${cert} (the disk went away)`]);
  });

  it('reads a file of exactly the size limit', async () => {
    const full = join(dir, 'full.pem');
    await writeFile(full, Buffer.alloc(MAX_TLS_FILE_BYTES, 0x41));
    expect((await readTlsFiles({ cert: full, key })).cert.length).to.equal(MAX_TLS_FILE_BYTES);
  });

  it('refuses a file one byte over the limit, saying which and how large the limit is', async () => {
    const big = join(dir, 'big.pem');
    await writeFile(big, Buffer.alloc(MAX_TLS_FILE_BYTES + 1, 0x41));
    const error = await tlsErrorOf(() => readTlsFiles({ cert, key, ca: big }));
    expect([error.code, error.message]).to.deep.equal(['TLS_FILE_TOO_LARGE', `the client CA ${big} is over ${MAX_TLS_FILE_BYTES} bytes`]);
  });
});
