import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_TLS_FILE_BYTES, readTlsFiles } from '../../../src/server/tls/cert-files.js';
import { checkPair } from '../../../src/server/tls/cert-pair.js';
import { TlsError } from '../../../src/server/tls/tls-error.js';
import { fingerprintOf, makeCa, makeLeaf } from '../../helpers/certificates.js';
import type { CertFiles, TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';

/** The TlsError code `fn` throws (fails the test when it throws nothing or something else). */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).to.be.instanceOf(TlsError);
    return (err as TlsError).code;
  }
  throw new Error('expected a TlsError');
}

describe('certificate pair: reading and checking', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: TestCa;
  let good: CertFiles;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ca = await makeCa(join(dir, 'ca'));
    good = await makeLeaf(ca);
  });
  after(() => cleanup());

  const check = async (files: { cert: string; key: string; ca?: string }, now = Date.now()) =>
    checkPair(await readTlsFiles(files), files, now);

  it('accepts a certificate with its own key and describes it by public facts', async () => {
    const pair = await check(good);
    expect(pair.info).to.include({ fingerprintSha256: fingerprintOf(good.cert), subject: 'CN=localhost', issuer: 'CN=Test CA' });
    expect(pair.info.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1');
    expect(pair.info.notAfter.getTime() - Date.now()).to.be.within(29 * 86_400_000, 30 * 86_400_000);
  });

  it('gives the same digest for the same files and another one when a file changes', async () => {
    const other = await makeLeaf(ca);
    expect((await check(good)).digest).to.equal((await check(good)).digest);
    expect((await check(good)).digest).to.not.equal((await check(other)).digest);
  });

  it('refuses a key that belongs to another certificate', async () => {
    const other = await makeLeaf(ca);
    expect(await codeOf(() => check({ cert: good.cert, key: other.key }))).to.equal('TLS_KEY_MISMATCH');
  });

  it('refuses a certificate past its notAfter, or before its notBefore, at the given time', async () => {
    const pair = await check(good);
    expect(await codeOf(() => check(good, pair.info.notAfter.getTime()))).to.equal('TLS_CERT_EXPIRED');
    expect(await codeOf(() => check(good, pair.info.notBefore.getTime() - 1000))).to.equal('TLS_CERT_NOT_YET_VALID');
  });

  it('refuses a half-written certificate and a certificate given as the key', async () => {
    const half = join(dir, 'half.pem');
    const pem = await readFile(good.cert, 'utf8');
    await writeFile(half, pem.slice(0, pem.length / 2));
    expect(await codeOf(() => check({ cert: half, key: good.key }))).to.equal('TLS_CERT_INVALID');
    expect(await codeOf(() => check({ cert: good.cert, key: good.cert }))).to.equal('TLS_KEY_INVALID');
  });

  it('refuses a client CA file that holds no certificate', async () => {
    expect(await codeOf(() => check({ ...good, ca: good.key }))).to.equal('TLS_CA_INVALID');
  });

  it('never puts key material in an error message', async () => {
    const keyText = await readFile(good.key, 'utf8');
    const body = keyText.split('\n')[1]!;
    const messages: string[] = [];
    for (const files of [{ cert: good.key, key: good.key }, { cert: good.cert, key: good.cert }, { cert: good.cert, key: good.key, ca: good.key }]) {
      await check(files).catch((err: Error) => messages.push(err.message));
    }
    expect(messages).to.have.length(3);
    expect(messages.filter((m) => m.includes(body) || m.includes('PRIVATE KEY-----'))).to.deep.equal([]);
  });

  it('reads regular files only: a directory and a FIFO are refused at once, without waiting for a writer', async () => {
    const fifo = join(dir, 'fifo.pem');
    execFileSync('mkfifo', [fifo]);
    await mkdir(join(dir, 'a-dir'));
    const started = Date.now();
    expect(await codeOf(() => readTlsFiles({ cert: fifo, key: good.key }))).to.equal('TLS_FILE_UNREADABLE');
    expect(await codeOf(() => readTlsFiles({ cert: good.cert, key: join(dir, 'a-dir') }))).to.equal('TLS_FILE_UNREADABLE');
    expect(Date.now() - started).to.be.below(1000);
  });

  it('refuses a missing file, and a file over the size limit', async () => {
    const big = join(dir, 'big.pem');
    await writeFile(big, Buffer.alloc(MAX_TLS_FILE_BYTES + 1, 0x41));
    expect(await codeOf(() => readTlsFiles({ cert: join(dir, 'none.pem'), key: good.key }))).to.equal('TLS_FILE_MISSING');
    expect(await codeOf(() => readTlsFiles({ cert: good.cert, key: big }))).to.equal('TLS_FILE_TOO_LARGE');
  });
});
