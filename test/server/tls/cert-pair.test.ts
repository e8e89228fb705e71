import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_TLS_FILE_BYTES, readTlsFiles } from '../../../src/server/tls/cert-files.js';
import { checkPair, digestOf } from '../../../src/server/tls/cert-pair.js';
import { TlsError } from '../../../src/server/tls/tls-error.js';
import { fingerprintOf, makeCa, makeLeaf, openssl } from '../../helpers/certificates.js';
import type { CertFiles, TestCa } from '../../helpers/certificates.js';
import { tempDir } from '../../helpers/server-process.js';

/** The TlsError `fn` throws (fails the test when it throws nothing or something else). */
async function errorOf(fn: () => unknown): Promise<TlsError> {
  const err = await (async () => fn())().then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(TlsError);
  return err as TlsError;
}

/** The code of the TlsError `fn` throws. */
const codeOf = async (fn: () => unknown): Promise<string> => (await errorOf(fn)).code;

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

  it('accepts a certificate with an empty subject (named by its subjectAltName alone), described as such', async () => {
    const files = { cert: join(dir, 'empty-subject.crt'), key: join(dir, 'empty-subject.key') };
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key, '-out', files.cert,
      '-days', '2', '-subj', '/', '-addext', 'subjectAltName=critical,DNS:localhost']);
    const pair = await check(files);
    expect([pair.info.subject, pair.info.issuer, pair.info.subjectAltName]).to.deep.equal(['', '', 'DNS:localhost']);
  });

  it('gives the same digest for the same files and another one when a file changes', async () => {
    const other = await makeLeaf(ca);
    expect((await check(good)).digest).to.equal((await check(good)).digest);
    expect((await check(good)).digest).to.not.equal((await check(other)).digest);
  });

  it('tells apart files whose lengths and bytes would run together', () => {
    // Unseparated, both read "15" "14abcdefghijklm" "0" "0": the length of each part must end where its bytes begin.
    const one = { cert: Buffer.from('5'), key: Buffer.from('abcdefghijklm0') };
    const other = { cert: Buffer.from('14abcdefghijklm'), key: Buffer.alloc(0) };
    expect(digestOf(one)).to.not.equal(digestOf(other));
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

  it('puts a subject of several attributes on one line', async () => {
    const files = { cert: join(dir, 'multi.pem'), key: join(dir, 'multi.key') };
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key,
      '-out', files.cert, '-days', '3', '-subj', '/C=DE/O=Acme/CN=multi']);
    expect((await check(files)).info).to.include({ subject: 'C=DE, O=Acme, CN=multi', issuer: 'C=DE, O=Acme, CN=multi' });
  });

  it('accepts a certificate from the first millisecond of its notBefore', async () => {
    const notBefore = (await check(good)).info.notBefore.getTime();
    expect((await check(good, notBefore)).info.fingerprintSha256).to.equal(fingerprintOf(good.cert));
  });

  it('names the files and the subject when a key does not match, a certificate has expired or is not yet valid', async () => {
    const other = await makeLeaf(ca);
    const { notBefore, notAfter } = (await check(good)).info;
    const messages = await Promise.all([
      errorOf(() => check({ cert: good.cert, key: other.key })),
      errorOf(() => check(good, notAfter.getTime())),
      errorOf(() => check(good, notBefore.getTime() - 1)),
    ]).then((errors) => errors.map((e) => e.message));
    expect(messages).to.deep.equal([
      `the private key ${other.key} does not belong to the certificate ${good.cert}`,
      `the certificate ${good.cert} (CN=localhost) expired at ${notAfter.toISOString()}; renew it`,
      `the certificate ${good.cert} (CN=localhost) is not valid before ${notBefore.toISOString()}`,
    ]);
  });

  it('says which file does not parse, adds OpenSSL\'s reason and keeps its error as the cause', async () => {
    const errors = await Promise.all([
      errorOf(() => check({ cert: good.key, key: good.key })),
      errorOf(() => check({ cert: good.cert, key: good.cert })),
      errorOf(() => check({ ...good, ca: good.key })),
    ]);
    const reasons = errors.map((e) => (e.cause as Error).message);
    expect(reasons.every((r) => r.length > 0)).to.equal(true);
    expect(errors.map((e) => e.message)).to.deep.equal([
      `the certificate ${good.key} is not a PEM certificate (${reasons[0]})`,
      `the private key ${good.cert} is not an unencrypted PEM private key (${reasons[1]})`,
      `the client CA ${good.key} is not a PEM certificate (${reasons[2]})`,
    ]);
  });

  it('refuses a pair OpenSSL will not load: a chain whose second certificate is broken', async () => {
    const chain = join(dir, 'broken-chain.pem');
    await writeFile(chain, `${await readFile(good.cert, 'utf8')}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    const error = await errorOf(() => check({ cert: chain, key: good.key }));
    expect(error.code).to.equal('TLS_CONTEXT_FAILED');
    expect(error.message).to.equal(`the certificate ${chain} and key ${good.key} are refused by OpenSSL (${(error.cause as Error).message})`);
  });

  it('gives the server the client CA only when one is named', async () => {
    const withCa = await check({ ...good, ca: ca.cert });
    expect(String(withCa.context.ca)).to.equal(await readFile(ca.cert, 'utf8'));
    expect((await check(good)).context).to.not.have.property('ca');
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
