import { expect } from 'chai';
import { daysLeft, startExpiryWarnings } from '../../../src/server/tls/cert-expiry.js';
import type { CertificateInfo } from '../../../src/server/tls/cert-pair.js';
import { captureLogger } from '../reload/helpers.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00Z');

function cert(fingerprint: string, notAfter: number): CertificateInfo {
  return { fingerprintSha256: fingerprint, subject: 'CN=localhost', issuer: 'CN=CA', notBefore: new Date(NOW - 80 * DAY), notAfter: new Date(notAfter) };
}

describe('certificate expiry warnings', () => {
  const setUp = (current: CertificateInfo) => {
    let now = NOW;
    const log = captureLogger();
    const warnings = startExpiryWarnings(() => current, { logger: log.logger, clock: () => now });
    const messages = () => log.lines.map((l) => `${String(l.level)}: ${String(l.message)}`);
    return { warnings, log, messages, advance: (ms: number) => { now += ms; } };
  };

  it('counts whole days left, negative once expired', () => {
    expect(daysLeft(cert('A', NOW + 13.9 * DAY), NOW)).to.equal(13);
    expect(daysLeft(cert('A', NOW - 1), NOW)).to.equal(-1);
  });

  it('says nothing while 14 days or more are left', () => {
    const info = cert('A', NOW + 14 * DAY);
    const t = setUp(info);
    t.warnings.check(info);
    t.warnings.stop();
    expect(t.messages()).to.deep.equal([]);
  });

  it('warns with fewer than 14 days left, at most once a day for the same certificate', () => {
    const info = cert('A', NOW + 10 * DAY);
    const t = setUp(info);
    t.warnings.check(info);
    t.advance(DAY - 1);
    t.warnings.check(info);
    t.advance(1);
    t.warnings.check(info);
    t.warnings.stop();
    expect(t.messages()).to.deep.equal(Array(2).fill('warn: TLS certificate expires in fewer than 14 days; renew it'));
    expect(t.log.lines[0]).to.include({ daysLeft: 10, fingerprintSha256: 'A' });
  });

  it('warns at once about a new short-lived certificate, whatever the last warning was', () => {
    const t = setUp(cert('A', NOW + 5 * DAY));
    t.warnings.check(cert('A', NOW + 5 * DAY));
    t.warnings.check(cert('B', NOW + 6 * DAY));
    t.warnings.stop();
    expect(t.log.lines.map((l) => l.fingerprintSha256)).to.deep.equal(['A', 'B']);
  });

  it('logs an error once when the certificate in force has expired', () => {
    const info = cert('A', NOW + 1000);
    const t = setUp(info);
    t.advance(1000);
    t.warnings.check(info);
    t.warnings.check(info);
    t.warnings.stop();
    expect(t.messages()).to.deep.equal(['error: TLS certificate in force has expired; renew it']);
  });
});
