import { expect } from 'chai';
import { createHealthCache, healthBody, notReadyReason } from '../../../src/server/http/health.js';
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

describe('healthBody', () => {
  const description = {
    source: 'file' as const, fingerprint: 'sha256:aaaaaaaaaaaa', loadedAt: new Date(Date.UTC(2026, 0, 1)),
  };
  const base = { now: Date.UTC(2026, 0, 1, 0, 0, 10), startedAt: Date.UTC(2026, 0, 1, 0, 0, 8, 500), version: '1.2.3', upstream: { configured: false } };

  it('says ok, the version, the uptime in whole seconds and whether it accepts requests, and no key when none is loaded', () => {
    expect(healthBody({ ...base, description: undefined, status: { accepting: false } })).to.deep.equal({
      status: 'ok', version: '1.2.3', uptimeSeconds: 2, accepting: false, upstream: { configured: false },
    });
    expect(healthBody({ ...base, now: base.startedAt + 1499, description: undefined, status: { accepting: true } }).uptimeSeconds).to.equal(1);
  });

  it('describes the key by source, fingerprint, load time and age; no maximum age without --max-key-age', () => {
    const body = healthBody({ ...base, description, status: { accepting: true } });
    expect(JSON.parse(JSON.stringify(body.key))).to.deep.equal({
      source: 'file', fingerprint: 'sha256:aaaaaaaaaaaa', loadedAt: '2026-01-01T00:00:00.000Z', ageSeconds: 10,
    });
  });

  it('counts the age from the creation time, and says whether it passed the maximum', () => {
    const since = new Date(Date.UTC(2025, 11, 31, 23, 59, 0));
    const key = (maxKeyAgeMs: number) => healthBody({ ...base, description: { ...description, since }, maxKeyAgeMs, status: { accepting: true } }).key;
    expect(key(70_000)).to.deep.include({ since: '2025-12-31T23:59:00.000Z', ageSeconds: 70, maxAgeSeconds: 70, maxAgeExceeded: false });
    expect(key(69_999)).to.deep.include({ maxAgeExceeded: true });
  });

  it('describes the previous key by fingerprint, the end of its window and whether it is open', () => {
    const previous = { fingerprint: 'sha256:bbbbbbbbbbbb', until: new Date(Date.UTC(2026, 0, 1, 1)), active: true };
    expect(healthBody({ ...base, description: { ...description, previous }, status: { accepting: true } }).previousKey).to.deep.equal({
      fingerprint: 'sha256:bbbbbbbbbbbb', until: '2026-01-01T01:00:00.000Z', active: true,
    });
  });

  it('shows the last reload with its reason and fingerprint, and when the file was last checked', () => {
    const lastReload = { outcome: 'rejected', trigger: 'change:.api_key', reason: 'KEY_EMPTY', fingerprint: 'sha256:cccccccccccc',
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)), checkedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 9)) };
    expect(healthBody({ ...base, description, status: { accepting: true, lastReload } }).lastReload).to.deep.equal({
      outcome: 'rejected', trigger: 'change:.api_key', reason: 'KEY_EMPTY', fingerprint: 'sha256:cccccccccccc',
      at: '2026-01-01T00:00:05.000Z', checkedAt: '2026-01-01T00:00:09.000Z',
    });
  });

  it('leaves out when the file was last checked while nobody knows', () => {
    const lastReload = { outcome: 'loaded', trigger: 'initialise', at: new Date(Date.UTC(2026, 0, 1)) };
    const shown = healthBody({ ...base, description, status: { accepting: true, lastReload } }).lastReload as Record<string, unknown>;
    expect(shown.checkedAt).to.equal(undefined);
  });

  it('leaves out the file trust when nobody checked it', () => {
    expect(healthBody({ ...base, description, status: { accepting: true } })).to.not.have.property('fileTrust');
  });
});

describe('notReadyReason', () => {
  const reachable = (value: boolean | undefined) => ({ configured: true, reachable: value });

  it('is ready with a key, accepting, and an upstream not known to be down', () => {
    expect(notReadyReason(true, { accepting: true })).to.equal(undefined);
    expect(notReadyReason(true, { accepting: true }, reachable(true))).to.equal(undefined);
    expect(notReadyReason(true, { accepting: true }, reachable(undefined))).to.equal(undefined);
    expect(notReadyReason(true, { accepting: true }, { configured: false, reachable: false })).to.equal(undefined);
  });

  it('is not ready while shutting down, above all', () => {
    expect(notReadyReason(false, { accepting: false }, reachable(false))).to.equal('Shutting down');
  });

  it('is not ready without a key, then with an upstream that is down', () => {
    expect(notReadyReason(false, { accepting: true }, reachable(false))).to.equal('No valid API key loaded');
    expect(notReadyReason(true, { accepting: true }, reachable(false))).to.equal('Upstream unreachable');
  });
});

describe('health cache: when it rebuilds', () => {
  it('answers the same text within a second of the clock, and the next second\'s from its first millisecond', () => {
    const { clock, store, body } = setUp();
    store.swap({ current: { key: KEY, source: 'file' } });
    expect(body().uptimeSeconds).to.equal(0);
    clock.now += 999;
    expect(body().uptimeSeconds).to.equal(0);
    clock.now += 1;
    expect(body().uptimeSeconds).to.equal(1);
  });

  it('follows a change of the upstream\'s state at once', async () => {
    let now = 0;
    let reachable = true;
    const upstream = createUpstreamMonitor({
      url: new URL('http://backend:1'), probe: async () => ({ reachable }), clock: () => now, maxAgeMs: 10,
    });
    const store = new KeyStore({ clock: () => 5_000_000 });
    store.swap({ current: { key: KEY, source: 'file' } });
    const cache = createHealthCache({ store, status: () => ({ accepting: true }), upstream, version: '1', startedAt: 5_000_000, clock: () => 5_000_000 });
    const first = JSON.parse(await cache.body()) as { upstream: { reachable: boolean } };
    expect(first.upstream.reachable).to.equal(true);
    reachable = false;
    now = 11;
    upstream.peek(); // stale: a new probe starts
    await new Promise((resolve) => setImmediate(resolve));
    const second = JSON.parse(cache.body() as string) as { upstream: { reachable: boolean } };
    expect(second.upstream.reachable).to.equal(false);
  });

  it('waits for the first probe of the upstream, then answers at once', async () => {
    const upstream = createUpstreamMonitor({ url: new URL('http://backend:1'), probe: async () => ({ reachable: true }) });
    const store = new KeyStore();
    const cache = createHealthCache({ store, status: () => ({ accepting: true }), upstream, version: '1', startedAt: 0, clock: () => 0 });
    const first = cache.body();
    expect(first).to.be.an.instanceOf(Promise);
    expect(JSON.parse(await first)).to.deep.include({ status: 'ok' });
    expect(cache.body()).to.be.a('string');
  });
});
