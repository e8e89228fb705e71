import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A self-signed certificate for localhost/127.0.0.1 and its key, as files. */
export interface BenchCertificate { cert: string; key: string }

/**
 * Makes a P-256 (ECDSA) certificate with Debian's openssl into `dir` (what certbot issues by default). The key
 * is written by openssl to a 0600 file and never printed. The load generator does not verify it (autocannon
 * never does), so no CA is needed.
 */
export async function makeCertificate(dir: string): Promise<BenchCertificate> {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  return { cert, key };
}
