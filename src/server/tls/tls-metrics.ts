import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { CertificateInfo } from './cert-pair.js';
import type { CertReloadOutcome } from './cert-reloader.js';

/** Counts re-reads of the certificate files; the expiry gauge reads the certificate in force when scraped. */
export interface TlsMetrics {
  certReload(outcome: CertReloadOutcome): void;
}

/** Adds the TLS metrics to the app's registry. */
export function createTlsMetrics(registry: Registry, current: () => CertificateInfo | undefined): TlsMetrics {
  new Gauge({
    name: 'qwen_tls_certificate_not_after_seconds', help: 'Unix time the TLS certificate in force expires',
    registers: [registry],
    collect() {
      const info = current();
      if (info) this.set(info.notAfter.getTime() / 1000); else this.reset();
    },
  });
  const reloads = new Counter({
    name: 'qwen_tls_certificate_reloads_total',
    help: 'Certificate re-reads that put a new pair in force or found the files unusable (rejected: every such re-read)',
    labelNames: ['result'], registers: [registry],
  });
  const byResult = { loaded: reloads.labels('loaded'), rejected: reloads.labels('rejected') };
  for (const counter of Object.values(byResult)) counter.inc(0);
  const checks = new Counter({
    name: 'qwen_tls_certificate_checks_total', help: 'Certificate re-reads of any result (watch events, SIGHUP, the backstop every 2 s)',
    registers: [registry],
  });
  return {
    certReload(outcome) {
      checks.inc();
      if (outcome !== 'unchanged') byResult[outcome].inc();
    },
  };
}
