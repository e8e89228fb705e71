import { expect } from 'chai';
import { createHealthCache, notReadyReason } from '../../../src/server/http/health.js';
import type { ServerStatus } from '../../../src/server/http/health.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { createUpstreamMonitor } from '../../../src/proxy/upstream-monitor.js';

const KEY = 'qwk_health_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
const OLD = 'qwk_old_____' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0';

interface Body { tls?: { fingerprintSha256: string; daysLeft: number }; uptimeSeconds: number; previousKey?: { active: boolean }; lastReload?: { outcome: string; at: string; checkedAt?: string }; accepting: boolean }

function setUp() {
  const clock = { now: 5_000_000 };
  const store = new KeyStore({ clock: () => clock.now });
  const status: ServerStatus = { accepting: true };
  const cache = createHealthCache({
    store, status: () => status, upstream: createUpstreamMonitor({}), version: '1.0.0', startedAt: clock.now, clock: () => clock.now,
  });
  const body = (): Body => JSON.parse(cache.body() as string) as Body;
  return { clock, store, status, body };
}

describe('health cache', () => {
  it('shows the previous key inactive from the very millisecond its window closes, not a second later', () => {
    const { clock, store, body } = setUp();
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(clock.now + 300) } });
    expect(body().previousKey?.active).to.equal(true);
    clock.now += 299;
    expect(body().previousKey?.active).to.equal(true);
    clock.now += 1;
    expect(body().previousKey?.active).to.equal(false);
  });

  it('follows the clock by the second, and a revocation, a reload or shutdown at once', () => {
    const { clock, store, status, body } = setUp();
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(clock.now + 60_000) } });
    expect(body().uptimeSeconds).to.equal(0);
    clock.now += 1000;
    expect(body().uptimeSeconds).to.equal(1);
    store.endPrevious();
    expect(body().previousKey?.active).to.equal(false);
    status.lastReload = { outcome: 'rejected', trigger: 'test', at: new Date(clock.now), checkedAt: new Date(clock.now + 5) };
    expect(body().lastReload).to.include({ outcome: 'rejected', at: new Date(clock.now).toISOString(), checkedAt: new Date(clock.now + 5).toISOString() });
    status.accepting = false;
    expect(body().accepting).to.equal(false);
  });

  it('shows which key files others can write, the moment that changes', () => {
    const { store, status, body } = setUp();
    store.swap({ current: { key: KEY, source: 'file' } });
    status.fileTrust = [];
    expect((body() as unknown as { fileTrust: unknown }).fileTrust).to.deep.equal({ ok: true, writableByOthers: [] });
    status.fileTrust = [{ path: '/k/.api_key_history', role: 'history', problem: 'writable by its group' }];
    expect((body() as unknown as { fileTrust: unknown }).fileTrust).to.deep.equal({
      ok: false, writableByOthers: [{ path: '/k/.api_key_history', role: 'history', problem: 'writable by its group' }],
    });
  });

  it('shows a new certificate at once, not at the next second', () => {
    const { clock, status, body } = setUp();
    const cert = (fingerprintSha256: string) => ({
      fingerprintSha256, subject: 'CN=localhost', issuer: 'CN=CA', notBefore: new Date(0), notAfter: new Date(clock.now + 20 * 86_400_000),
      loadedAt: new Date(clock.now), clientCertificates: false, lastReload: { outcome: 'loaded' as const, trigger: 'initialise', at: new Date(clock.now) },
    });
    status.tls = cert('AA:01');
    expect(body().tls).to.include({ fingerprintSha256: 'AA:01', daysLeft: 20 });
    status.tls = cert('BB:02');
    expect(body().tls?.fingerprintSha256).to.equal('BB:02');
  });
});

describe('readiness', () => {
  const certificate = (notAfter: number) => ({
    fingerprintSha256: 'AA', subject: 'CN=x', issuer: 'CN=x', notBefore: new Date(0), notAfter: new Date(notAfter),
    loadedAt: new Date(0), clientCertificates: false, lastReload: { outcome: 'loaded' as const, trigger: 'initialise', at: new Date(0) },
  });

  it('stays ready while the certificate in force is valid, and not once it has expired', () => {
    const status = (notAfter: number): ServerStatus => ({ accepting: true, tls: certificate(notAfter) });
    expect(notReadyReason(true, status(1001), undefined, 1000)).to.equal(undefined);
    expect(notReadyReason(true, status(1000), undefined, 1000)).to.equal('TLS certificate expired');
  });
});
