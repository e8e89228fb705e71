import { expect } from 'chai';
import { keyAgeMs, startKeyAgeWarnings } from '../../../src/server/reload/key-age.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { captureLogger, periods, waitFor } from './helpers.js';

const KEY = 'qwk_age_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
const DAY = 86_400_000;
const WARNING = 'key older than max key age; rotate it with manage-key rotate';
/** Timers that keep the process alive (unref'd ones are not listed). */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** A store whose key was created at `since` (per the history), or loaded at `loadedAt` without one. */
function storeWith(options: { since?: number; loadedAt: number }): KeyStore {
  const store = new KeyStore({ clock: () => options.loadedAt });
  store.swap({ current: { key: KEY, source: 'file', since: options.since === undefined ? undefined : new Date(options.since) } });
  return store;
}

describe('keyAgeMs', () => {
  it('counts from the creation time the history gives', () => {
    expect(keyAgeMs({ source: 'file', fingerprint: 'f', loadedAt: new Date(5000), since: new Date(1000) }, 9000)).to.equal(8000);
  });

  it('counts from the load time when the creation time is unknown', () => {
    expect(keyAgeMs({ source: 'file', fingerprint: 'f', loadedAt: new Date(5000) }, 9000)).to.equal(4000);
  });

  it('is never negative, even for a creation time in the future (a clock set back)', () => {
    expect(keyAgeMs({ source: 'file', fingerprint: 'f', loadedAt: new Date(5000), since: new Date(20_000) }, 9000)).to.equal(0);
  });
});

describe('startKeyAgeWarnings', () => {
  it('warns at once about a key older than the maximum, with its fingerprint and both ages in days', () => {
    const log = captureLogger();
    const store = storeWith({ since: 0, loadedAt: 0 });
    const stop = startKeyAgeWarnings({ store, maxAgeMs: 90 * DAY, logger: log.logger, clock: () => 100 * DAY + DAY / 2 });
    try {
      expect(log.lines).to.deep.equal([
        { level: 'warn', message: WARNING, fingerprint: store.describe()!.fingerprint, ageDays: 100, maxAgeDays: 90 },
      ]);
    } finally {
      stop();
    }
  });

  it('says nothing about a key exactly as old as the maximum, or younger', () => {
    const log = captureLogger();
    let now = 90 * DAY;
    const stop = startKeyAgeWarnings({ store: storeWith({ since: 0, loadedAt: 0 }), maxAgeMs: 90 * DAY, logger: log.logger, clock: () => now });
    try {
      now = 10 * DAY;
      const again = startKeyAgeWarnings({ store: storeWith({ loadedAt: 0 }), maxAgeMs: 90 * DAY, logger: log.logger, clock: () => now });
      again();
      expect(log.lines).to.deep.equal([]);
    } finally {
      stop();
    }
  });

  it('says nothing while no key is loaded', () => {
    const log = captureLogger();
    const stop = startKeyAgeWarnings({ store: new KeyStore(), maxAgeMs: 1, logger: log.logger, clock: () => 100 * DAY });
    stop();
    expect(log.lines).to.deep.equal([]);
  });

  it('looks again every period, so an overdue key is reported again, and stops when told', async () => {
    const log = captureLogger();
    const stop = startKeyAgeWarnings({ store: storeWith({ loadedAt: 0 }), maxAgeMs: DAY, logger: log.logger, clock: () => 2 * DAY, intervalMs: 5 });
    try {
      await waitFor(() => log.lines.length >= 3, 'two more warnings');
    } finally {
      stop();
    }
    const count = log.lines.length;
    await periods(5, 3);
    expect(log.lines.length).to.equal(count);
  });

  it('looks once a day by default', async () => {
    const log = captureLogger();
    const stop = startKeyAgeWarnings({ store: storeWith({ loadedAt: 0 }), maxAgeMs: DAY, logger: log.logger, clock: () => 2 * DAY });
    try {
      await periods(1, 5);
      expect(log.lines).to.have.length(1);
    } finally {
      stop();
    }
  });

  it('does not keep the process alive', () => {
    const log = captureLogger();
    const before = liveTimers();
    const stop = startKeyAgeWarnings({ store: new KeyStore(), maxAgeMs: DAY, logger: log.logger });
    try {
      expect(liveTimers()).to.equal(before);
    } finally {
      stop();
    }
  });
});
