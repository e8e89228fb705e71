import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// Test certificates made with Debian's openssl, as an operator would make them. Private keys are only
// ever written to files (mode 0600, by openssl itself): nothing here prints one, and errors carry
// openssl's diagnostics, which never contain key material.

/** A certificate and its private key, as files. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A certificate authority that can sign server and client certificates. */
export interface TestCa extends CertFiles {
  dir: string;
  name: string;
}

/** What a signed certificate should look like. */
export interface LeafOptions {
  /** Common name; also the DNS name in subjectAltName. */
  cn?: string;
  /** Validity in days from now; negative makes a certificate that has already expired. */
  days?: number;
  /** A client certificate (extendedKeyUsage clientAuth) instead of a server one. */
  client?: boolean;
}

/** Runs openssl; rejects with its stderr (diagnostics only) on failure. */
export function openssl(args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${stderr.trim().slice(0, 500)}`));
      else resolve(stdout);
    });
  });
}

// P-256 keys: made in milliseconds, supported by every TLS client the tests use.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

let serial = 0;
const unique = (): string => `${process.pid}-${Date.now()}-${serial++}`;

/** Makes a self-signed CA in `dir` (created if needed). */
export async function makeCa(dir: string, name = 'Test CA'): Promise<TestCa> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `ca-${unique()}`);
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '30', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { dir, name, cert: `${base}.pem`, key: `${base}.key` };
}

/** Makes a key and a certificate signed by `ca`, valid for localhost and 127.0.0.1 (files in the CA's directory). */
export async function makeLeaf(ca: TestCa, options: LeafOptions = {}): Promise<CertFiles> {
  const cn = options.cn ?? 'localhost';
  const base = join(ca.dir, `leaf-${unique()}`);
  await openssl(['req', '-new', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`]);
  const usage = options.client ? 'extendedKeyUsage=clientAuth' : `subjectAltName=DNS:${cn},IP:127.0.0.1\nextendedKeyUsage=serverAuth`;
  await writeFile(`${base}.ext`, `${usage}\n`);
  await openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(Date.now() * 1000 + serial++),
    '-days', String(options.days ?? 30), '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
  const made = new X509Certificate(readFileSync(`${base}.pem`));
  // openssl 3.0 takes a negative -days as "already expired"; a later one might not, and the test would mean nothing.
  if ((options.days ?? 30) < 0 && new Date(made.validTo).getTime() > Date.now()) throw new Error('openssl made no expired certificate');
  return { cert: `${base}.pem`, key: `${base}.key` };
}

/** The SHA-256 fingerprint of a PEM certificate file, `AB:CD:…`. */
export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}
