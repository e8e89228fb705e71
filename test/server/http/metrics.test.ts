import { expect } from 'chai';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { createMetrics } from '../../../src/server/http/metrics.js';

describe('metrics', () => {
  it('counts key reloads by result, and every re-read (unchanged ones included) only as a check', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.keyReload('loaded');
    for (let i = 0; i < 50; i++) metrics.keyReload('unchanged');
    metrics.keyReload('rejected');
    metrics.keyReload('rejected');
    const text = await metrics.registry.metrics();
    expect(text).to.include('qwen_key_reloads_total{result="loaded"} 1');
    expect(text).to.include('qwen_key_reloads_total{result="rejected"} 2');
    expect(text).to.not.include('result="unchanged"');
    expect(text).to.include('qwen_key_file_checks_total 53');
  });

  it('counts requests by route and status without a label per path', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.request('/api/v1/health', 200);
    metrics.request('/api/v1/health', 200);
    metrics.request('/no/such/route', 404);
    const text = await metrics.registry.metrics();
    expect(text).to.include('qwen_http_requests_total{route="/api/v1/health",code="200"} 2');
    expect(text).to.include('qwen_http_requests_total{route="other",code="404"} 1');
  });

  it('counts failed history reads and shows how many key files others can write', async () => {
    let writable = 2;
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false, writableByOthers: () => writable });
    metrics.historyReadFailure();
    expect(await metrics.registry.metrics()).to.include('qwen_history_read_failures_total 1');
    expect(await metrics.registry.metrics()).to.include('qwen_key_files_writable_by_others 2');
    writable = 0;
    expect(await metrics.registry.metrics()).to.include('qwen_key_files_writable_by_others 0');
  });
});

const KEY = 'qwk_metrics_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
const OLD = 'qwk_old_____' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0';

/** The value of one sample line (`name{labels} value`), or undefined when the metric has no such sample. */
async function sample(metrics: ReturnType<typeof createMetrics>, series: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics: requests', () => {
  it('counts every status from 100 to 599 under the daemon\'s route labels', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    for (const route of ['/livez', '/readyz', '/api/v1/health', '/metrics', '/api/v1/*', 'other']) metrics.request(route, 100);
    metrics.request('/livez', 599);
    for (const route of ['/livez', '/readyz', '/api/v1/health', '/metrics', '/api/v1/*', 'other']) {
      expect(await sample(metrics, `qwen_http_requests_total{route="${route}",code="100"}`), route).to.equal(1);
    }
    expect(await sample(metrics, 'qwen_http_requests_total{route="/livez",code="599"}')).to.equal(1);
  });

  it('leaves statuses outside 100-599 uncounted, without failing', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    for (const status of [0, 99, 600, 1000, -1]) metrics.request('/livez', status);
    expect(await metrics.registry.metrics()).to.not.include('qwen_http_requests_total{');
  });

  it('shows no sample for a route and status never answered, and the count since start on each scrape', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.request('/livez', 200);
    expect(await sample(metrics, 'qwen_http_requests_total{route="/livez",code="200"}')).to.equal(1);
    metrics.request('/livez', 200);
    expect(await sample(metrics, 'qwen_http_requests_total{route="/livez",code="200"}')).to.equal(2);
    expect(await sample(metrics, 'qwen_http_requests_total{route="/livez",code="404"}')).to.equal(undefined);
  });
});

describe('metrics: authentication', () => {
  it('counts failures by reason and uses of the previous key', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.authFailure('missing');
    metrics.authFailure('invalid');
    metrics.authFailure('invalid');
    metrics.authFailure('malformed');
    metrics.authFailure('throttled');
    metrics.authenticated({ client: 'default', key: 'previous' });
    expect(await sample(metrics, 'qwen_auth_failures_total{reason="missing"}')).to.equal(1);
    expect(await sample(metrics, 'qwen_auth_failures_total{reason="invalid"}')).to.equal(2);
    expect(await sample(metrics, 'qwen_auth_failures_total{reason="malformed"}')).to.equal(1);
    expect(await sample(metrics, 'qwen_auth_failures_total{reason="throttled"}')).to.equal(1);
    expect(await sample(metrics, 'qwen_auth_previous_key_total')).to.equal(1);
  });

  it('shows both reload results at 0 before any reload', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    expect(await sample(metrics, 'qwen_key_reloads_total{result="loaded"}')).to.equal(0);
    expect(await sample(metrics, 'qwen_key_reloads_total{result="rejected"}')).to.equal(0);
  });
});

describe('metrics: the key in force', () => {
  it('shows no key as 0 everywhere', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false, maxKeyAgeMs: 1000 });
    expect(await sample(metrics, 'qwen_key_loaded')).to.equal(0);
    expect(await sample(metrics, 'qwen_key_seconds_since_load')).to.equal(0);
    expect(await sample(metrics, 'qwen_key_age_seconds')).to.equal(0);
    expect(await sample(metrics, 'qwen_key_max_age_exceeded')).to.equal(0);
    expect(await sample(metrics, 'qwen_previous_key_active')).to.equal(0);
    expect(await sample(metrics, 'qwen_previous_key_valid_until_seconds')).to.equal(0);
  });

  it('shows the time since the load and the key\'s age since its creation, by the clock given', async () => {
    let now = 10_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file', since: new Date(now - 50_000) } });
    now += 2500;
    const metrics = createMetrics({ store, processMetrics: false, clock: () => now });
    expect(await sample(metrics, 'qwen_key_loaded')).to.equal(1);
    expect(await sample(metrics, 'qwen_key_seconds_since_load')).to.equal(2.5);
    expect(await sample(metrics, 'qwen_key_age_seconds')).to.equal(52.5);
  });

  it('shows the maximum age passed only past it, and only with --max-key-age', async () => {
    let now = 10_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' } });
    const metrics = createMetrics({ store, processMetrics: false, clock: () => now, maxKeyAgeMs: 1000 });
    now += 1000;
    expect(await sample(metrics, 'qwen_key_max_age_exceeded')).to.equal(0);
    now += 1;
    expect(await sample(metrics, 'qwen_key_max_age_exceeded')).to.equal(1);
    const without = createMetrics({ store, processMetrics: false, clock: () => now });
    expect(await without.registry.metrics()).to.not.include('qwen_key_max_age_exceeded');
  });

  it('shows the previous key\'s window and its end in Unix seconds while it is open, 0 after', async () => {
    let now = 10_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 60_500) } });
    const metrics = createMetrics({ store, processMetrics: false, clock: () => now });
    expect(await sample(metrics, 'qwen_previous_key_active')).to.equal(1);
    expect(await sample(metrics, 'qwen_previous_key_valid_until_seconds')).to.equal(10_060.5);
    now += 60_500;
    expect(await sample(metrics, 'qwen_previous_key_active')).to.equal(0);
    expect(await sample(metrics, 'qwen_previous_key_valid_until_seconds')).to.equal(0);
  });
});

describe('metrics: the rest', () => {
  it('shows how many key files others can write only when told how to count them', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    expect(await metrics.registry.metrics()).to.not.include('qwen_key_files_writable_by_others');
  });

  it('shows the connection guard\'s open connections, refusals by limit and evictions, 0 before the server exists', async () => {
    let guard: { open: number; counts: { total: number; per_ip: number; evicted: number }; trust(): void } | undefined;
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false, connections: () => guard });
    expect(await sample(metrics, 'qwen_connections_open')).to.equal(0);
    expect(await sample(metrics, 'qwen_connections_refused_total{limit="total"}')).to.equal(0);
    expect(await sample(metrics, 'qwen_connections_refused_total{limit="per_ip"}')).to.equal(0);
    expect(await sample(metrics, 'qwen_connections_evicted_total')).to.equal(0);
    guard = { open: 7, counts: { total: 2, per_ip: 3, evicted: 4 }, trust: () => {} };
    expect(await sample(metrics, 'qwen_connections_open')).to.equal(7);
    expect(await sample(metrics, 'qwen_connections_refused_total{limit="total"}')).to.equal(2);
    expect(await sample(metrics, 'qwen_connections_refused_total{limit="per_ip"}')).to.equal(3);
    expect(await sample(metrics, 'qwen_connections_evicted_total')).to.equal(4);
    guard.counts.evicted = 5;
    expect(await sample(metrics, 'qwen_connections_evicted_total')).to.equal(5);
  });

  it('has no connection metrics without a guard to ask', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    expect(await metrics.registry.metrics()).to.not.include('qwen_connections_');
  });

  it('includes the process metrics unless told not to, each app in a registry of its own', async () => {
    const withProcess = createMetrics({ store: new KeyStore() });
    const other = createMetrics({ store: new KeyStore() });
    withProcess.authenticated({ client: 'default', key: 'previous' });
    expect(await withProcess.registry.metrics()).to.match(/\nprocess_cpu_user_seconds_total /);
    expect(await sample(other, 'qwen_auth_previous_key_total')).to.equal(0);
    expect(await createMetrics({ store: new KeyStore(), processMetrics: false }).registry.metrics()).to.not.include('process_cpu');
  });
});
