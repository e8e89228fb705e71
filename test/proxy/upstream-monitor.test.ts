import { expect } from 'chai';
import { createUpstreamMonitor } from '../../src/proxy/upstream-monitor.js';
import type { ProbeResult } from '../../src/proxy/upstream-monitor.js';

const URL_WITH_SECRETS = new URL('http://user:secret@backend.local:7860/base/path?token=x');

/** A probe whose answers the test gives, one per call, recording what it was asked. */
function manualProbe() {
  const calls: Array<{ url: string; timeoutMs: number; answer: (r: ProbeResult) => void; fail: (e: Error) => void }> = [];
  const probe = (url: URL, timeoutMs: number): Promise<ProbeResult> => new Promise((resolve, reject) => {
    calls.push({ url: url.href, timeoutMs, answer: resolve, fail: reject });
  });
  return { probe, calls };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('upstream monitor', () => {
  it('without an upstream: not configured, the same answer every time', async () => {
    const monitor = createUpstreamMonitor({});
    expect(await monitor.info()).to.deep.equal({ configured: false });
    expect(monitor.peek()).to.equal(monitor.peek());
    expect(monitor.peek()).to.deep.equal({ configured: false });
  });

  it('without a probe: configured, by origin only (no credentials, path or query), never probed', async () => {
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS });
    expect(await monitor.info()).to.deep.equal({ configured: true, url: 'http://backend.local:7860' });
    expect(monitor.peek()).to.equal(monitor.peek());
  });

  it('waits for the first probe on info(), and reports it with the time it was made', async () => {
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
    const info = monitor.info();
    expect(calls).to.have.length(1);
    calls[0]!.answer({ reachable: true, latencyMs: 3, status: 200 });
    expect(await info).to.deep.equal({
      configured: true, url: 'http://backend.local:7860', reachable: true, latencyMs: 3, status: 200, checkedAt: '2026-01-02T03:04:05.000Z',
    });
  });

  it('probes the configured URL with a 2 s timeout by default, or the one given', () => {
    const first = manualProbe();
    createUpstreamMonitor({ url: URL_WITH_SECRETS, probe: first.probe }).peek();
    expect(first.calls.map((c) => [c.url, c.timeoutMs])).to.deep.equal([[URL_WITH_SECRETS.href, 2000]]);
    const second = manualProbe();
    createUpstreamMonitor({ url: URL_WITH_SECRETS, probe: second.probe, timeoutMs: 150 }).peek();
    expect(second.calls[0]!.timeoutMs).to.equal(150);
  });

  it('reports a probe that throws as unreachable, with its message', async () => {
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => 0 });
    const info = monitor.info();
    calls[0]!.fail(new Error('ECONNREFUSED'));
    expect(await info).to.deep.include({ configured: true, reachable: false, error: 'ECONNREFUSED' });
  });

  it('makes one probe for callers that ask while it runs', async () => {
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => 0 });
    const answers = [monitor.info(), monitor.info()];
    expect(monitor.peek()).to.equal(undefined);
    expect(calls).to.have.length(1);
    calls[0]!.answer({ reachable: true });
    const [a, b] = await Promise.all(answers);
    expect(a).to.equal(b);
  });

  it('answers peek() from the last probe without waiting, the same object until a new probe', async () => {
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => 0 });
    expect(monitor.peek()).to.equal(undefined);
    calls[0]!.answer({ reachable: true });
    await settle();
    const first = monitor.peek();
    expect(first).to.deep.include({ reachable: true });
    expect(monitor.peek()).to.equal(first);
    expect(await monitor.info()).to.equal(first);
    expect(calls).to.have.length(1);
  });

  it('probes again in the background once the last result is older than 5 s, by default', async () => {
    let now = 0;
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => now });
    monitor.peek();
    calls[0]!.answer({ reachable: true });
    await settle();
    now = 5000;
    const stale = monitor.peek();
    expect(calls).to.have.length(1);
    now = 5001;
    expect(monitor.peek()).to.equal(stale); // the old result at once, while the new probe runs
    expect(calls).to.have.length(2);
    calls[1]!.answer({ reachable: false, error: 'ETIMEDOUT' });
    await settle();
    expect(monitor.peek()).to.deep.include({ reachable: false, error: 'ETIMEDOUT', checkedAt: new Date(5001).toISOString() });
  });

  it('takes another maximum age', async () => {
    let now = 0;
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => now, maxAgeMs: 100 });
    monitor.peek();
    calls[0]!.answer({ reachable: true });
    await settle();
    now = 101;
    monitor.peek();
    expect(calls).to.have.length(2);
  });

  it('probes again after a probe that failed', async () => {
    let now = 0;
    const { probe, calls } = manualProbe();
    const monitor = createUpstreamMonitor({ url: URL_WITH_SECRETS, probe, clock: () => now });
    const first = monitor.info();
    calls[0]!.fail(new Error('boom'));
    await first;
    now = 6000;
    monitor.peek();
    expect(calls).to.have.length(2);
  });
});
