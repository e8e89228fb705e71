import type { Logger } from 'winston';
import type { CertificateInfo } from './cert-pair.js';

const DAY_MS = 86_400_000;
/** A certificate with fewer days left than this is warned about (the log line says 14). */
export const EXPIRY_WARNING_DAYS = 14;

/** Whole days (rounded down) until `info` expires; negative once it has. */
export function daysLeft(info: CertificateInfo, now: number): number {
  return Math.floor((info.notAfter.getTime() - now) / DAY_MS);
}

/** Options for the renewal reminders. */
export interface ExpiryWarningOptions {
  logger: Logger;
  clock?: () => number;
  /** How often the certificate in force is looked at; the warning itself is logged at most once a day. */
  intervalMs?: number;
}

/** Reminders about the certificate in force; `check` is also called by whoever loads a new one. */
export interface ExpiryWarnings {
  check(info: CertificateInfo | undefined): void;
  stop(): void;
}

/**
 * Warns when the certificate in force has fewer than 14 days left (when it is loaded, then once a day),
 * and logs an error once when it has expired: renewal has failed and clients refuse it.
 */
export function startExpiryWarnings(current: () => CertificateInfo | undefined, options: ExpiryWarningOptions): ExpiryWarnings {
  const clock = options.clock ?? Date.now;
  const { logger } = options;
  let warned: { fingerprint: string; at: number } | undefined;
  let expired: string | undefined;
  const check = (info: CertificateInfo | undefined): void => {
    if (!info) return;
    const now = clock();
    const fields = { fingerprintSha256: info.fingerprintSha256, subject: info.subject, notAfter: info.notAfter.toISOString() };
    if (info.notAfter.getTime() <= now) {
      if (expired !== info.fingerprintSha256) logger.error('TLS certificate in force has expired; renew it', fields);
      expired = info.fingerprintSha256;
      return;
    }
    const days = daysLeft(info, now);
    if (days >= EXPIRY_WARNING_DAYS) return;
    if (warned?.fingerprint === info.fingerprintSha256 && now - warned.at < DAY_MS) return;
    warned = { fingerprint: info.fingerprintSha256, at: now };
    logger.warn('TLS certificate expires in fewer than 14 days; renew it', { ...fields, daysLeft: days });
  };
  // Hourly, so a certificate that runs out between two daily warnings is reported within the hour.
  const timer = setInterval(() => check(current()), options.intervalMs ?? 3_600_000);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
