import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { digestOf } from '../../../src/core/key.js';
import { ClientTable } from '../../../src/server/reload/client-table.js';
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

  it('refuses any other key while the previous one is inside its window', () => {
    const store = new KeyStore();
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(Date.now() + 60_000) } });
    expect(store.verify(KEY.replace('A', 'B'))).to.equal(null);
  });

  it('keeps no previous key that is the current key itself', () => {
    const store = new KeyStore();
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: KEY, until: new Date(Date.now() + 60_000) } });
    expect(store.describe()?.previous).to.equal(undefined);
    expect(store.previousUntil).to.equal(undefined);
  });

  it('tells when the previous key\'s window ends, only while it is open', () => {
    let now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    expect(store.previousUntil).to.equal(undefined);
    store.swap({ current: { key: KEY, source: 'file' } });
    expect(store.previousUntil).to.equal(undefined);
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 1000) } });
    now += 999;
    expect(store.previousUntil).to.equal(1_001_000);
    now += 1;
    expect(store.previousUntil).to.equal(undefined);
  });

  it('moves its version forward on every change, and ends a window before any key without failing', () => {
    const store = new KeyStore();
    store.endPrevious();
    const versions = [store.version];
    store.swap({ current: { key: KEY, source: 'file' } });
    versions.push(store.version);
    store.endPrevious();
    versions.push(store.version);
    store.swapClients(ClientTable.EMPTY);
    versions.push(store.version);
    expect(versions.every((v, i) => i === 0 || v > versions[i - 1]!)).to.equal(true);
    expect(store.describe()!.previous, 'no previous key described when there is none').to.equal(undefined);
  });

  describe('named keys', () => {
    const ALICE = 'qwk_alice_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
    const ALICE_OLD = 'qwk_alice_old_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
    const table = (now: number) => new ClientTable([
      { name: 'alice', sha256: digestOf(ALICE), created: new Date(now), expires: new Date(now + 1000),
        previous: { sha256: digestOf(ALICE_OLD), rotated: new Date(now), until: new Date(now + 500) } },
      { name: 'bob', sha256: digestOf(OLD), created: new Date(now) },
    ], { graceMs: 0, maxGraceMs: 86_400_000 });

    it('says whose key it is: default for the static key, the name for a named one', () => {
      const store = new KeyStore();
      store.swap({ current: { key: KEY, source: 'file' } });
      store.swapClients(table(Date.now()));
      expect(store.verify(KEY)).to.deep.equal({ client: 'default', key: 'current' });
      expect(store.verify(ALICE)).to.deep.include({ client: 'alice', key: 'current' });
      expect(store.verify(ALICE_OLD)).to.deep.include({ client: 'alice', key: 'previous' });
      expect(store.verify(ALICE + 'x')).to.equal(null);
      expect(store.verify(undefined)).to.equal(null);
    });

    it('refuses a named key from the millisecond it expires, and a previous one when its window ends', () => {
      let now = 1_000_000;
      const store = new KeyStore({ clock: () => now });
      store.swapClients(table(now));
      now += 499;
      expect(store.verify(ALICE_OLD)?.client).to.equal('alice');
      now += 1;
      expect(store.verify(ALICE_OLD)).to.equal(null);
      now += 499;
      expect(store.verify(ALICE)?.client).to.equal('alice');
      now += 1;
      expect(store.verify(ALICE)).to.equal(null);
      expect(store.verify(OLD)?.client, 'a key without expiry').to.equal('bob');
    });

    it('accepts named keys with no static key loaded, and the static key first when both match', () => {
      const store = new KeyStore();
      store.swapClients(table(Date.now()));
      expect(store.loaded).to.equal(false);
      expect(store.verify(OLD)?.client).to.equal('bob');
      store.swap({ current: { key: OLD, source: 'file' } });
      expect(store.verify(OLD)?.client).to.equal('default');
    });

    it('swaps the whole set at once and moves its version', () => {
      const store = new KeyStore();
      const before = store.version;
      store.swapClients(table(Date.now()));
      expect(store.version).to.equal(before + 1);
      expect(store.clients.size).to.equal(2);
      store.swapClients(ClientTable.EMPTY);
      expect(store.verify(ALICE)).to.equal(null);
      expect(store.describeClients()).to.include({ active: 0, expired: 0 });
    });
  });
});

describe('KeyStore: the previous key\'s window', () => {
  const WRONG = 'qwk_wrong_' + 'M1n2B3v4C5x6Z7l8K9j0H1g2F3d4S5a6P7o8I9u0';
  const open = (now: number): KeyStore => {
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 60_000) } });
    return store;
  };

  it('refuses a key that is neither current nor previous while a window is open', () => {
    const store = open(1_000_000);
    expect(store.verify(WRONG)).to.equal(null);
    expect(store.verify(OLD.slice(0, -1))).to.equal(null);
    expect(store.verify('')).to.equal(null);
  });

  it('drops a "previous" key that is the current key itself: no window to report or end', () => {
    const store = new KeyStore({ clock: () => 1_000_000 });
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: KEY, until: new Date(2_000_000) } });
    expect(store.verify(KEY)?.key).to.equal('current');
    expect(store.previousUntil).to.equal(undefined);
    expect(store.describe()!.previous).to.equal(undefined);
  });

  it('says when the window ends while it is open, and nothing once it is over or ended', () => {
    let now = 1_000_000;
    const store = new KeyStore({ clock: () => now });
    store.swap({ current: { key: KEY, source: 'file' } });
    expect(store.previousUntil).to.equal(undefined);
    store.swap({ current: { key: KEY, source: 'file' }, previous: { key: OLD, until: new Date(now + 1000) } });
    expect(store.previousUntil).to.equal(now + 1000);
    now += 999;
    expect(store.previousUntil).to.equal(1_001_000);
    now += 1;
    expect(store.previousUntil).to.equal(undefined);
    now = 1_000_000;
    store.endPrevious();
    expect(store.previousUntil).to.equal(undefined);
  });

  it('describes an ended window as inactive, with the previous key still named', () => {
    const store = open(1_000_000);
    store.endPrevious();
    const previous = store.describe()!.previous!;
    expect(previous.active).to.equal(false);
    expect(store.verify(OLD)).to.equal(null);
    expect(previous.fingerprint).to.equal('sha256:' + createHash('sha256').update(OLD).digest('hex').slice(0, 12));
  });

  it('describes an open window with its end and as active', () => {
    const store = open(1_000_000);
    expect(store.describe()!.previous).to.deep.include({ active: true });
    expect(store.describe()!.previous!.until.getTime()).to.equal(1_060_000);
  });
});

describe('KeyStore: state', () => {
  it('is not loaded before the first swap, and describes nothing', () => {
    const store = new KeyStore();
    expect(store.loaded).to.equal(false);
    expect(store.describe()).to.equal(undefined);
    expect(store.previousUntil).to.equal(undefined);
    store.swap({ current: { key: KEY, source: 'file' } });
    expect(store.loaded).to.equal(true);
  });

  it('takes endPrevious before any key without failing', () => {
    const store = new KeyStore();
    expect(() => store.endPrevious()).to.not.throw();
    expect(store.loaded).to.equal(false);
  });

  it('moves its version on every swap and every endPrevious, and not on reads', () => {
    const store = new KeyStore();
    const versions = [store.version];
    store.swap({ current: { key: KEY, source: 'file' } });
    versions.push(store.version);
    store.verify(KEY);
    store.describe();
    versions.push(store.version);
    store.swap({ current: { key: KEY, source: 'file' } });
    versions.push(store.version);
    store.endPrevious();
    versions.push(store.version);
    expect(versions).to.deep.equal([0, 1, 1, 2, 3]);
  });

  it('describes the source, the load time and the creation time of the key in force', () => {
    const since = new Date(500_000);
    const store = new KeyStore({ clock: () => 1_000_000 });
    store.swap({ current: { key: KEY, source: 'generated', since } });
    expect(store.describe()).to.deep.equal({
      source: 'generated',
      fingerprint: 'sha256:' + createHash('sha256').update(KEY).digest('hex').slice(0, 12),
      loadedAt: new Date(1_000_000),
      since,
      previous: undefined,
    });
  });
});
