import { expect } from 'chai';
import { certificateJson } from '../../../src/server/tls/cert-summary.js';
import type { CertificateSummary } from '../../../src/server/tls/cert-reloader.js';

const NOW = Date.UTC(2026, 0, 1);
const summary: CertificateSummary = {
  fingerprintSha256: 'AA:BB', subject: 'CN=localhost', issuer: 'CN=Test CA', subjectAltName: 'DNS:localhost, IP Address:127.0.0.1',
  notBefore: new Date(Date.UTC(2025, 11, 1)), notAfter: new Date(NOW + 20.5 * 86_400_000), loadedAt: new Date(NOW - 1000),
  clientCertificates: false,
  lastReload: { outcome: 'rejected', trigger: 'backstop', reason: 'TLS_KEY_MISMATCH', at: new Date(NOW - 500) },
};

describe('certificateJson', () => {
  it('shows the certificate by its public facts, days left and its last reload', () => {
    expect(certificateJson(summary, NOW)).to.deep.equal({
      fingerprintSha256: 'AA:BB', subject: 'CN=localhost', issuer: 'CN=Test CA', subjectAltName: 'DNS:localhost, IP Address:127.0.0.1',
      notBefore: '2025-12-01T00:00:00.000Z', notAfter: '2026-01-21T12:00:00.000Z', daysLeft: 20,
      loadedAt: '2025-12-31T23:59:59.000Z', clientCertificates: 'none',
      lastReload: { outcome: 'rejected', trigger: 'backstop', reason: 'TLS_KEY_MISMATCH', at: '2025-12-31T23:59:59.500Z' },
    });
  });

  it('says client certificates are required when they are', () => {
    expect(certificateJson({ ...summary, clientCertificates: true }, NOW).clientCertificates).to.equal('required');
  });
});
