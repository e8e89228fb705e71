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
