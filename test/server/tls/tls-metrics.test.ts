import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createTlsMetrics } from '../../../src/server/tls/tls-metrics.js';
import type { CertificateInfo } from '../../../src/server/tls/cert-pair.js';

const info: CertificateInfo = {
  fingerprintSha256: 'AA:BB', subject: 'CN=localhost', issuer: 'CN=CA', notBefore: new Date(0), notAfter: new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 500)),
};

async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('TLS metrics', () => {
  it('shows when the certificate in force expires, in Unix seconds, and 0 while there is none', async () => {
    const registry = new Registry();
    let current: CertificateInfo | undefined;
    createTlsMetrics(registry, () => current);
    expect(await sample(registry, 'qwen_tls_certificate_not_after_seconds')).to.equal(0);
    current = info;
    expect(await sample(registry, 'qwen_tls_certificate_not_after_seconds')).to.equal(Date.UTC(2030, 0, 1) / 1000 + 0.5);
  });

  it('counts re-reads: every one as a check, loads and rejections by result, both shown from 0', async () => {
    const registry = new Registry();
    const metrics = createTlsMetrics(registry, () => undefined);
    expect(await sample(registry, 'qwen_tls_certificate_reloads_total{result="loaded"}')).to.equal(0);
    expect(await sample(registry, 'qwen_tls_certificate_reloads_total{result="rejected"}')).to.equal(0);
    metrics.certReload('loaded');
    metrics.certReload('unchanged');
    metrics.certReload('rejected');
    metrics.certReload('rejected');
    expect(await sample(registry, 'qwen_tls_certificate_reloads_total{result="loaded"}')).to.equal(1);
    expect(await sample(registry, 'qwen_tls_certificate_reloads_total{result="rejected"}')).to.equal(2);
    expect(await registry.metrics()).to.not.include('result="unchanged"');
    expect(await sample(registry, 'qwen_tls_certificate_checks_total')).to.equal(4);
  });
});
