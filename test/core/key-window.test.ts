import { expect } from 'chai';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Action, historyPathFor } from '../../src/core/history.js';
import { appendHistory } from '../../src/core/history-file.js';
import { fingerprint, generateKey } from '../../src/core/key.js';
import { writeKeyFile } from '../../src/core/key-file.js';
import { generateKeyFile, rotateKeyFile } from '../../src/core/key-ops.js';
import { KeyReloader } from '../../src/server/reload/key-reloader.js';
import { KeyStore } from '../../src/server/reload/key-store.js';
import { adjustedWindow, keySetFor, sameWindow, windowFromHistory } from '../../src/core/key-window.js';
import type { HistoryState } from '../../src/core/history-state.js';
import { captureLogger, tempDir } from '../server/reload/helpers.js';

const MIN = 60_000;
// Whole seconds: history stamps have one-second resolution.
const T0 = new Date(2026, 10, 29, 10, 0, 0).getTime();

describe('key window rules (pure)', function () {
  const [a, b, c] = ['qwk_window_a', 'qwk_window_b', 'qwk_window_c'];
  /** The state a history shows after `a` was rotated to `b` at T0 + 1 min (written out, not derived). */
  const rotation = (previous: Partial<NonNullable<HistoryState['previous']>> = {}, revoked: string[] = []): HistoryState => ({
    current: { key: b, since: new Date(T0 + MIN) },
    previous: { key: a, replacedAt: new Date(T0 + MIN), revoked: false, ...previous },
    revoked: new Set(revoked),
  });

  it('gives the replaced key the server grace from the rotation time', function () {
    expect(windowFromHistory(rotation(), b, 10 * MIN, T0 + 2 * MIN)).to.deep.equal({ key: a, until: new Date(T0 + 11 * MIN) });
  });

  it('prefers a per-rotation Grace until over the server grace', function () {
    const until = new Date(T0 + 60 * MIN);
    expect(windowFromHistory(rotation({ graceUntil: until }), b, 0, T0 + 2 * MIN)).to.deep.equal({ key: a, until });
  });

  it('gives no window to a revoked key, whatever the grace', function () {
    expect(windowFromHistory(rotation({ revoked: true }, [a]), b, 10 * MIN, T0 + 2 * MIN)).to.equal(undefined);
    expect(windowFromHistory(rotation({ graceUntil: new Date(T0 + 60 * MIN) }, [a]), b, 10 * MIN, T0 + 2 * MIN)).to.equal(undefined);
    expect(windowFromHistory(rotation({ revoked: true }), b, 10 * MIN, T0 + 2 * MIN)).to.equal(undefined);
  });

  it('gives no window with grace 0, even when the rotation is stamped ahead of this clock', function () {
    expect(windowFromHistory(rotation(), b, 0, T0)).to.equal(undefined);
  });

  it('gives no window when the history names no previous key', function () {
    expect(windowFromHistory({ current: { key: b, since: new Date(T0) }, revoked: new Set() }, b, 10 * MIN, T0)).to.equal(undefined);
  });

  it('ends the window exactly at its end', function () {
    expect(windowFromHistory(rotation(), b, 10 * MIN, T0 + 11 * MIN - 1)).to.deep.equal({ key: a, until: new Date(T0 + 11 * MIN) });
    expect(windowFromHistory(rotation(), b, 10 * MIN, T0 + 11 * MIN)).to.equal(undefined);
  });

  it('keeps the history\'s current key\'s creation time as the key\'s since', function () {
    const set = keySetFor({ key: b, source: 'file', state: rotation(), graceMs: 10 * MIN, now: T0 + 2 * MIN });
    expect(set).to.deep.equal({ current: { key: b, source: 'file', since: new Date(T0 + MIN) }, previous: { key: a, until: new Date(T0 + 11 * MIN) } });
  });

  it('opens no window for a key read again (the key in memory is the same key)', function () {
    const set = keySetFor({ key: c, source: 'file', state: rotation(), held: { key: c, source: 'file' }, graceMs: 5 * MIN, now: T0 });
    expect(set).to.deep.equal({ current: { key: c, source: 'file' }, previous: undefined });
  });

  it('opens no window for a key in memory that the history revoked', function () {
    const set = keySetFor({ key: c, source: 'file', state: rotation({}, [b]), held: { key: b, source: 'file' }, graceMs: 5 * MIN, now: T0 });
    expect(set.previous).to.equal(undefined);
  });

  describe('adjustedWindow (the history changed, the key did not)', () => {
    const inForce = { key: a, until: new Date(T0 + 30 * MIN) };
    const unknown = { current: { key: 'qwk_other', since: new Date(T0) }, revoked: new Set<string>() };

    it('takes the history\'s verdict when the history knows the key', () => {
      expect(adjustedWindow(rotation(), b, inForce, 10 * MIN, T0 + 2 * MIN)).to.deep.equal({ key: a, until: new Date(T0 + 11 * MIN) });
      expect(adjustedWindow(rotation({ revoked: true }, [a]), b, inForce, 10 * MIN, T0 + 2 * MIN)).to.equal(undefined);
    });

    it('keeps the window in force when the history does not know the key', () => {
      expect(adjustedWindow(unknown, c, inForce, 10 * MIN, T0 + 2 * MIN)).to.equal(inForce);
    });

    it('ends the window in force once the history revokes its key', () => {
      expect(adjustedWindow({ ...unknown, revoked: new Set([a]) }, c, inForce, 10 * MIN, T0 + 2 * MIN)).to.equal(undefined);
    });

    it('ends the window in force at its end', () => {
      expect(adjustedWindow(unknown, c, inForce, 10 * MIN, T0 + 30 * MIN - 1)).to.equal(inForce);
      expect(adjustedWindow(unknown, c, inForce, 10 * MIN, T0 + 30 * MIN)).to.equal(undefined);
    });

    it('opens none when none is in force', () => {
      expect(adjustedWindow(unknown, c, undefined, 10 * MIN, T0)).to.equal(undefined);
    });
  });

  it('sameWindow: the same key until the same time', () => {
    const w = { key: a, until: new Date(T0) };
    expect(sameWindow(undefined, undefined)).to.equal(true);
    expect(sameWindow(w, undefined)).to.equal(false);
    expect(sameWindow(undefined, w)).to.equal(false);
    expect(sameWindow(w, { key: a, until: new Date(T0) })).to.equal(true);
    expect(sameWindow(w, { key: b, until: new Date(T0) })).to.equal(false);
    expect(sameWindow(w, { key: a, until: new Date(T0 + 1) })).to.equal(false);
  });

  it('gives no window with grace 0, or once the window is over', function () {
    expect(windowFromHistory(rotation(), b, 0, T0 + 2 * MIN)).to.equal(undefined);
    expect(windowFromHistory(rotation(), b, 10 * MIN, T0 + 11 * MIN)).to.equal(undefined);
  });

  it('cannot say when the history does not know the key (null)', function () {
    expect(windowFromHistory(rotation(), c, 10 * MIN, T0 + 2 * MIN)).to.equal(null);
  });

  it('makes the key in memory the previous one for a key the history does not know', function () {
    const set = keySetFor({ key: c, source: 'file', state: rotation(), held: { key: b, source: 'file' }, graceMs: 5 * MIN, now: T0 + 3 * MIN });
    expect(set).to.deep.equal({ current: { key: c, source: 'file' }, previous: { key: b, until: new Date(T0 + 8 * MIN) } });
    const none = keySetFor({ key: c, source: 'file', state: rotation(), held: { key: b, source: 'file' }, graceMs: 0, now: T0 });
    expect(none.previous).to.equal(undefined);
    const dev = keySetFor({ key: c, source: 'file', state: rotation(), held: { key: b, source: 'development' }, graceMs: 5 * MIN, now: T0 });
    expect(dev.previous).to.equal(undefined);
  });
});

describe('key window rules (reloader, injected clock)', function () {
  let cleanup: () => Promise<void>;
  let keyFile: string;
  let now: number;
  const clock = () => now;
  const dateClock = () => new Date(now);

  beforeEach(async function () {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    await mkdir(join(dir, 'api'));
    now = T0;
  });
  afterEach(() => cleanup());

  const start = async (graceMs: number) => {
    const store = new KeyStore({ clock });
    const log = captureLogger();
    const reloader = new KeyReloader({ keyFile, store, graceMs, logger: log.logger, clock });
    expect(await reloader.initialise({ development: false })).to.equal('file');
    return { store, reloader, log };
  };

  it('takes the window from the history, so a restart inside it keeps the old key valid', async function () {
    const old = await generateKeyFile({ keyFile, clock: dateClock });
    now = T0 + MIN;
    const { key } = await rotateKeyFile({ keyFile, clock: dateClock });
    now = T0 + 5 * MIN; // the server (re)starts 4 minutes after the rotation
    const { store } = await start(10 * MIN);
    expect(store.verify(key)?.key).to.equal('current');
    expect(store.verify(old)?.key).to.equal('previous');
    expect(store.describe()!.previous!.until.getTime()).to.equal(T0 + 11 * MIN);
    now = T0 + 11 * MIN - 1;
    expect(store.verify(old)?.key).to.equal('previous');
    now = T0 + 11 * MIN;
    expect(store.verify(old)).to.equal(null);
  });

  it('honours a per-rotation grace (rotate --grace) over the server default', async function () {
    const old = await generateKeyFile({ keyFile, clock: dateClock });
    now = T0 + MIN;
    await rotateKeyFile({ keyFile, clock: dateClock, graceMs: 60 * MIN });
    const { store } = await start(0);
    now = T0 + 60 * MIN;
    expect(store.verify(old)?.key).to.equal('previous');
    now = T0 + 61 * MIN;
    expect(store.verify(old)).to.equal(null);
  });

  it('gives a revoked key (rotate --revoke) no window at all', async function () {
    const old = await generateKeyFile({ keyFile, clock: dateClock });
    now = T0 + MIN;
    await rotateKeyFile({ keyFile, clock: dateClock, revoke: true });
    const { store } = await start(10 * MIN);
    expect(store.verify(old)).to.equal(null);
  });

  it('without history: the key in memory stays valid for grace from the change', async function () {
    const first = generateKey();
    await writeKeyFile(keyFile, first);
    const { store, reloader } = await start(5 * MIN);
    const second = generateKey();
    await writeKeyFile(keyFile, second);
    now = T0 + MIN;
    expect((await reloader.reload('test')).outcome).to.equal('loaded');
    expect(store.verify(second)?.key).to.equal('current');
    now = T0 + 6 * MIN - 1;
    expect(store.verify(first)?.key).to.equal('previous');
    now = T0 + 6 * MIN;
    expect(store.verify(first)).to.equal(null);
  });

  it('grace 0: the replaced key ends at once', async function () {
    const first = generateKey();
    await writeKeyFile(keyFile, first);
    const { store, reloader } = await start(0);
    await writeKeyFile(keyFile, generateKey());
    await reloader.reload('test');
    expect(store.verify(first)).to.equal(null);
  });

  it('ends the window at once when a Revoked line arrives for the previous key', async function () {
    const old = await generateKeyFile({ keyFile, clock: dateClock });
    now = T0 + MIN;
    await rotateKeyFile({ keyFile, clock: dateClock });
    const { store, reloader, log } = await start(10 * MIN);
    expect(store.verify(old)?.key).to.equal('previous');
    const loadedAt = store.describe()!.loadedAt.getTime();
    now = T0 + 2 * MIN;
    await appendHistory(historyPathFor(keyFile), [{ time: new Date(now), action: Action.revoked, key: old }]);
    expect((await reloader.reload('test')).outcome).to.equal('unchanged');
    expect(store.verify(old)).to.equal(null);
    expect(store.describe()!.loadedAt.getTime(), 'the current key was not reloaded').to.equal(loadedAt);
    expect(log.lines.some((l) => l.level === 'warn' && l.previous === fingerprint(old))).to.equal(true);
  });

  it('follows the history once it catches up with a key copied ahead of it', async function () {
    const old = await generateKeyFile({ keyFile, clock: dateClock });
    const { store, reloader } = await start(5 * MIN);
    // The key arrives first (copied by hand), unknown to the history: window from memory.
    const key = generateKey();
    now = T0 + MIN;
    await writeKeyFile(keyFile, key);
    await reloader.reload('test');
    expect(store.describe()!.previous!.until.getTime()).to.equal(T0 + 6 * MIN);
    // Then the history that names it, with its own window.
    const until = new Date(T0 + 30 * MIN);
    await appendHistory(historyPathFor(keyFile), [
      { time: new Date(now), action: Action.replaced, key: old },
      { time: new Date(now), action: Action.rotatedNew, key },
      { time: new Date(now), action: `Grace until ${until.toISOString()}`, key: old },
    ]);
    now = T0 + 2 * MIN;
    await reloader.reload('test');
    expect(store.describe()!.previous!.until.getTime()).to.equal(until.getTime());
    expect(store.verify(old)?.key).to.equal('previous');
  });
});
