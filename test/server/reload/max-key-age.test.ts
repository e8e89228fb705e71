import { expect } from 'chai';
import { createMetrics } from '../../../src/server/http/metrics.js';
import { startKeyAgeWarnings } from '../../../src/server/reload/key-age.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { KEY, startApp } from '../../helpers/app-server.js';
import { captureLogger, waitFor } from './helpers.js';

const DAY = 86_400_000;
const LOADED = Date.UTC(2026, 0, 1);

/** A store holding KEY, loaded (with no creation time from a history) at LOADED. */
function storeLoadedAt(): KeyStore {
  const store = new KeyStore({ clock: () => LOADED });
  store.swap({ current: { key: KEY, source: 'file' } });
  return store;
}

// --max-key-age in process, on one injected clock: the daily warning, the health answer and the metric
// all turn when the key passes the maximum, and not a millisecond before.
describe('--max-key-age (injected clock)', () => {
  it('warns while the key is older than the maximum, at every check, with its age in days', async () => {
    let now = LOADED + 90 * DAY;
    const log = captureLogger();
    const warnings = () => log.lines.filter((l) => l.message === 'key older than max key age; rotate it with manage-key rotate');
    // Checked every 5 ms here rather than daily.
    const stop = startKeyAgeWarnings({ store: storeLoadedAt(), maxAgeMs: 90 * DAY, logger: log.logger, clock: () => now, intervalMs: 5 });
    try {
      expect(warnings(), 'exactly at the maximum').to.deep.equal([]);
      now += 1;
      await waitFor(() => warnings().length > 0, 'a warning once past the maximum');
      now += DAY;
      await waitFor(() => warnings().some((l) => l.ageDays === 91), 'a warning a day later');
      expect(warnings()[0]).to.deep.include({ level: 'warn', ageDays: 90, maxAgeDays: 90 });
    } finally {
      stop();
    }
  });

  it('says in the health answer whether the key passed the maximum', async () => {
    let now = LOADED + 90 * DAY;
    const store = storeLoadedAt();
    const app = await startApp({ store, maxKeyAgeMs: 90 * DAY, clock: () => now, metrics: createMetrics({ store, processMetrics: false, maxKeyAgeMs: 90 * DAY, clock: () => now }) });
    try {
      const key = async () => ((await (await fetch(`${app.url}/api/v1/health`, { headers: { 'X-API-Key': KEY } })).json()) as { key: Record<string, unknown> }).key;
      expect(await key()).to.deep.include({ ageSeconds: 90 * 86_400, maxAgeSeconds: 90 * 86_400, maxAgeExceeded: false });
      now += 1000;
      expect(await key()).to.deep.include({ ageSeconds: 90 * 86_400 + 1, maxAgeExceeded: true });
    } finally {
      await app.close();
    }
  });

  it('sets qwen_key_max_age_exceeded once the key passed the maximum', async () => {
    let now = LOADED + 90 * DAY;
    const metrics = createMetrics({ store: storeLoadedAt(), processMetrics: false, maxKeyAgeMs: 90 * DAY, clock: () => now });
    const sample = async (name: string) => Number((await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
    expect(await sample('qwen_key_max_age_exceeded')).to.equal(0);
    now += 1;
    expect(await sample('qwen_key_max_age_exceeded')).to.equal(1);
    expect(await sample('qwen_key_age_seconds')).to.equal(90 * 86_400 + 0.001);
  });
});
