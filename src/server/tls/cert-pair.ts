import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import type { TlsFileBytes, TlsFiles } from './cert-files.js';
import { TlsError } from './tls-error.js';

/** What is public about a certificate: enough to recognise it and see when it ends. */
export interface CertificateInfo {
  /** SHA-256 of the DER certificate, `AB:CD:…`, as `openssl x509 -noout -fingerprint -sha256` prints it. */
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  subjectAltName?: string;
  notBefore: Date;
  notAfter: Date;
}

/** A certificate and private key that parse and belong together, ready for `setSecureContext`. */
export interface CertPair {
  context: SecureContextOptions;
  info: CertificateInfo;
  /** Digest of the files' bytes: a re-read with the same digest changes nothing. */
  digest: string;
}

/** A digest of the files' bytes (never logged: it only tells one read from another). */
export function digestOf(bytes: TlsFileBytes): string {
  const hash = createHash('sha256');
  for (const part of [bytes.cert, bytes.key, bytes.ca ?? Buffer.alloc(0)]) hash.update(String(part.length)).update(':').update(part);
  return hash.digest('hex');
}

/**
 * Checks that the files hold a certificate and the private key that matches it (and a parsable client
 * CA), that the certificate is valid at `now`, and that OpenSSL builds a context from them; throws a
 * TlsError otherwise. Half-written files fail here too, as unparsable or as a mismatch.
 */
export function checkPair(bytes: TlsFileBytes, files: TlsFiles, now: number): CertPair {
  const cert = parse(() => new X509Certificate(bytes.cert), 'TLS_CERT_INVALID', `the certificate ${files.cert} is not a PEM certificate`);
  const key = parse(() => createPrivateKey(bytes.key), 'TLS_KEY_INVALID',
    `the private key ${files.key} is not an unencrypted PEM private key`);
  if (bytes.ca) parse(() => new X509Certificate(bytes.ca!), 'TLS_CA_INVALID', `the client CA ${files.ca} is not a PEM certificate`);
  if (!cert.checkPrivateKey(key)) {
    throw new TlsError('TLS_KEY_MISMATCH', `the private key ${files.key} does not belong to the certificate ${files.cert}`);
  }
  const info = describe(cert);
  if (info.notAfter.getTime() <= now) {
    throw new TlsError('TLS_CERT_EXPIRED', `the certificate ${files.cert} (${info.subject}) expired at ${info.notAfter.toISOString()}; renew it`);
  }
  if (info.notBefore.getTime() > now) {
    throw new TlsError('TLS_CERT_NOT_YET_VALID', `the certificate ${files.cert} (${info.subject}) is not valid before ${info.notBefore.toISOString()}`);
  }
  const context: SecureContextOptions = { cert: bytes.cert, key: bytes.key, ...(bytes.ca ? { ca: bytes.ca } : {}) };
  // OpenSSL has the last word (chain order, key type, a CA bundle with a broken entry).
  parse(() => createSecureContext(context), 'TLS_CONTEXT_FAILED', `the certificate ${files.cert} and key ${files.key} are refused by OpenSSL`);
  return { context, info, digest: digestOf(bytes) };
}

/** The public facts of a certificate. */
export function describe(cert: X509Certificate): CertificateInfo {
  return {
    fingerprintSha256: cert.fingerprint256,
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    subjectAltName: cert.subjectAltName,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

// Distinguished names come one attribute per line, never an empty one (control characters in a value are escaped).
// An empty name (RFC 5280 allows an empty subject beside a critical subjectAltName) is undefined in Node.
function oneLine(name: string | undefined): string {
  return (name ?? '').replaceAll('\n', ', ');
}

// OpenSSL's own message says what it choked on; it never quotes the input.
function parse<T>(make: () => T, code: TlsError['code'], message: string): T {
  try {
    return make();
  } catch (err) {
    throw new TlsError(code, `${message} (${(err as Error).message})`, { cause: err });
  }
}
