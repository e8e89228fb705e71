import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { KeyStore } from '../../../src/server/reload/key-store.js';

const KEY = 'qwk_store_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
const OLD = 'qwk_old___' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0';

describe('KeyStore', () => {
  it('accepts exactly the current key; nothing before the first swap', () => {
    const store = new KeyStore();
    expect(store.verify(KEY)).to.equal(null);
    store.swap({ current: { key: KEY, source: 'file' } });
    expect(store.verify(KEY)?.key).to.equal('current');
    for (const other of [KEY.slice(0, -1), KEY + 'x', KEY.toLowerCase(), '', ' ' + KEY, 'é'.repeat(40), undefined]) {
      expect(store.verify(other)).to.equal(null);
    }
  });

  it('accepts the previous key only before its window ends (injected clock), and not after endPrevious', () => {
    let now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 1000) } });
    expect(store.verify(OLD)?.key).to.equal('previous');
    now += 999;
    expect(store.verify(OLD)?.key).to.equal('previous');
    expect(store.describe()?.previous?.active).to.equal(true);
    now += 1;
    expect(store.verify(OLD)).to.equal(null);
    expect(store.describe()?.previous?.active).to.equal(false);
    expect(store.verify(KEY)?.key).to.equal('current');
    now = 1_000_000;
    store.endPrevious();
    expect(store.verify(OLD)).to.equal(null);
  });

  it('keeps the load time when only the previous key\'s window changes, and resets it for a new key', () => {
    let now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: OLD, source: 'file' } });
    now += 5000;
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 60_000) } });
    const loadedAt = store.describe()!.loadedAt.getTime();
    expect(loadedAt).to.equal(now);
    now += 5000;
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 1000) } });
    expect(store.describe()!.loadedAt.getTime()).to.equal(loadedAt);
    expect(store.describe()!.previous!.until.getTime()).to.equal(now + 1000);
  });

  it('answers every request from its own digest, though the candidate buffer is reused', () => {
    const store = new KeyStore();
    store.swap({ current: { key: KEY, source: 'file' } });
    // A failed check must leave nothing behind that lets the next, different key through.
    const answers = [OLD, KEY, OLD, KEY + KEY, KEY].map((k) => store.verify(k)?.key ?? null);
    expect(answers).to.deep.equal([null, 'current', null, null, 'current']);
  });

  it('describes keys by their SHA-256 fingerprint only', () => {
    const store = new KeyStore();
    store.swap({ current: { key: KEY, source: 'env' }, previous: { key: OLD, until: new Date(Date.now() + 60_000) } });
    const text = JSON.stringify(store.describe());
    expect(text.includes(KEY) || text.includes(OLD)).to.equal(false);
    const expected = 'sha256:' + createHash('sha256').update(KEY).digest('hex').slice(0, 12);
    expect(store.describe()?.fingerprint).to.equal(expected);
  });
});
