import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { putInForce, updateWindow } from '../../../src/server/reload/key-set-change.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { captureLogger } from './helpers.js';

const KEY = 'qwk_change_new_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const OLD = 'qwk_change_old_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
const fp = (key: string): string => 'sha256:' + createHash('sha256').update(key).digest('hex').slice(0, 12);
const NOW = Date.UTC(2026, 0, 1, 12);

describe('putInForce', () => {
  it('swaps the key set in and logs `key loaded` by fingerprint, source and trigger', () => {
    const log = captureLogger();
    const store = new KeyStore();
    putInForce(store, log.logger, { current: { key: KEY, source: 'file' } }, 'change:.api_key');
    expect(store.verify(KEY)?.key).to.equal('current');
    expect(log.lines).to.deep.equal([{ level: 'info', message: 'key loaded', fingerprint: fp(KEY), source: 'file', trigger: 'change:.api_key' }]);
  });

  it('names the previous key and the end of its window when there is one', () => {
    const log = captureLogger();
    const until = new Date(NOW + 60_000);
    putInForce(new KeyStore({ clock: () => NOW }), log.logger, { current: { key: KEY, source: 'file' }, previous: { key: OLD, until } }, 'SIGHUP');
    expect(log.lines[0]).to.deep.include({ previous: fp(OLD), previousUntil: until.toISOString() });
  });

  it('warns about a key under 16 characters, and not about one of 16', () => {
    const log = captureLogger();
    putInForce(new KeyStore(), log.logger, { current: { key: 'short-key-15chr', source: 'env' } }, 'initialise');
    putInForce(new KeyStore(), log.logger, { current: { key: 'sixteen-chars-ok', source: 'env' } }, 'initialise');
    expect(log.lines.filter((l) => l.level === 'warn')).to.deep.equal([{
      level: 'warn', message: 'key is shorter than 16 characters and easy to guess; rotate it with manage-key', fingerprint: fp('short-key-15chr'), source: 'env',
    }]);
  });

  it('does not warn about the development key\'s length, whatever it is', () => {
    const log = captureLogger();
    putInForce(new KeyStore(), log.logger, { current: { key: 'dev', source: 'development' } }, 'initialise');
    expect(log.lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
  });
});

describe('updateWindow', () => {
  const heldWith = (until: number) => ({ current: { key: KEY, source: 'file' as const }, previous: { key: OLD, until: new Date(until) } });
  const setUp = (until: number) => {
    const store = new KeyStore({ clock: () => NOW });
    const held = heldWith(until);
    store.swap(held);
    return { store, held, log: captureLogger() };
  };

  it('changes nothing, silently, when the history asks for the window in force', () => {
    const { store, held, log } = setUp(NOW + 60_000);
    const next = updateWindow({ held, state: { revoked: new Set() }, graceMs: 0, now: NOW, store, logger: log.logger, trigger: 't' });
    expect(next).to.equal(held);
    expect(log.lines).to.deep.equal([]);
    expect(store.verify(OLD)?.key).to.equal('previous');
  });

  it('ends the window at once when the history revokes the previous key, and says so', () => {
    const { store, held, log } = setUp(NOW + 60_000);
    const next = updateWindow({ held, state: { revoked: new Set([OLD]) }, graceMs: 0, now: NOW, store, logger: log.logger, trigger: 'change:.api_key_history' });
    expect(next).to.deep.equal({ current: held.current, previous: undefined });
    expect(store.verify(OLD)).to.equal(null);
    expect(log.lines).to.deep.equal([{
      level: 'warn', message: 'previous key no longer valid (revoked or window over)', previous: fp(OLD), trigger: 'change:.api_key_history',
    }]);
  });

  it('opens the window the history now grants, and says until when', () => {
    const store = new KeyStore({ clock: () => NOW });
    const held = { current: { key: KEY, source: 'file' as const } };
    store.swap(held);
    const log = captureLogger();
    const graceUntil = new Date(NOW + 600_000);
    const state = {
      current: { key: KEY, since: new Date(NOW - 1000) },
      previous: { key: OLD, replacedAt: new Date(NOW - 1000), graceUntil, revoked: false },
      revoked: new Set<string>(),
    };
    const next = updateWindow({ held, state, graceMs: 0, now: NOW, store, logger: log.logger, trigger: 'backstop' });
    expect(next).to.deep.equal({ current: held.current, previous: { key: OLD, until: graceUntil } });
    expect(store.verify(OLD)?.key).to.equal('previous');
    expect(log.lines).to.deep.equal([{
      level: 'info', message: 'previous key window changed', previous: fp(OLD), previousUntil: graceUntil.toISOString(), trigger: 'backstop',
    }]);
  });

  it('takes a window already over as none: nothing to end, nothing to say', () => {
    const { store, held, log } = setUp(NOW);
    const next = updateWindow({ held, state: { revoked: new Set([OLD]) }, graceMs: 0, now: NOW, store, logger: log.logger, trigger: 't' });
    expect(next).to.equal(held);
    expect(log.lines).to.deep.equal([]);
  });
});
