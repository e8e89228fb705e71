import { daysLeft } from './cert-expiry.js';
import type { CertificateSummary } from './cert-reloader.js';

/** The certificate in force as the health answer shows it: public facts only, never key material. */
export function certificateJson(summary: CertificateSummary, now: number): Record<string, unknown> {
  const { lastReload } = summary;
  return {
    fingerprintSha256: summary.fingerprintSha256,
    subject: summary.subject,
    issuer: summary.issuer,
    subjectAltName: summary.subjectAltName,
    notBefore: summary.notBefore.toISOString(),
    notAfter: summary.notAfter.toISOString(),
    daysLeft: daysLeft(summary, now),
    loadedAt: summary.loadedAt.toISOString(),
    clientCertificates: summary.clientCertificates ? 'required' : 'none',
    lastReload: { outcome: lastReload.outcome, trigger: lastReload.trigger, reason: lastReload.reason, at: lastReload.at.toISOString() },
  };
}
