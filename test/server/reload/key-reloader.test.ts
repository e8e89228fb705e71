import { expect } from 'chai';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { KeyReloader } from '../../../src/server/reload/key-reloader.js';
import type { ReloadEvent } from '../../../src/server/reload/reload-record.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { FileReads } from '../../../src/core/regular-file.js';
import type { ReloadHistory } from '../../../src/server/reload/reload-history.js';
import { captureLogger, periods, tempDir, waitFor } from './helpers.js';

describe('key reloader', function () {
  let cleanup: () => Promise<void>;
  let keyFile: string;

  beforeEach(async function () {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    await mkdir(join(dir, 'api'));
  });
  afterEach(() => cleanup());

  const start = async (retryMs = 60_000) => {
    const key = generateKey();
    await writeKeyFile(keyFile, key);
    const store = new KeyStore();
    const log = captureLogger();
    const events: ReloadEvent[] = [];
    const reloader = new KeyReloader({ keyFile, store, graceMs: 0, logger: log.logger, retryMs, onReload: (e) => events.push(e) });
    await reloader.initialise({ development: false });
    return { key, store, log, events, reloader };
  };

  it('logs each swap at info by fingerprint, with trigger and source', async function () {
    const { store, log, reloader } = await start();
    const key = generateKey();
    await writeKeyFile(keyFile, key);
    const event = await reloader.reload('SIGHUP');
    expect(event).to.include({ outcome: 'loaded', trigger: 'SIGHUP', source: 'file' });
    expect(event.fingerprint).to.equal(store.describe()!.fingerprint);
    const line = log.lines.at(-1)!;
    expect(line).to.include({ level: 'info', message: 'key loaded', trigger: 'SIGHUP', source: 'file', fingerprint: event.fingerprint });
    expect(log.text().includes(key)).to.equal(false);
    expect(reloader.lastReload).to.deep.include(event);
  });

  it('shows the last reload that did something; unchanged re-reads only move its checkedAt', async function () {
    let now = 1_000_000;
    const key = generateKey();
    await writeKeyFile(keyFile, key);
    const reloader = new KeyReloader({ keyFile, store: new KeyStore(), graceMs: 0, logger: captureLogger().logger, clock: () => now, retryMs: 60_000 });
    await reloader.initialise({ development: false });
    const loaded = reloader.lastReload!;
    expect(loaded).to.include({ outcome: 'loaded', trigger: 'initialise' });
    now += 2000;
    await reloader.reload('backstop');
    expect(reloader.lastReload).to.include({ outcome: 'loaded', trigger: 'initialise' });
    expect(reloader.lastReload!.at.getTime()).to.equal(1_000_000);
    expect(reloader.lastReload!.checkedAt!.getTime()).to.equal(1_002_000);
    // A file that turns bad: the first rejection stays, later ones of the same reason only check.
    await writeFile(keyFile, 'qwk_a b');
    now += 2000;
    await reloader.reload('change:.api_key');
    now += 2000;
    await reloader.reload('backstop');
    expect(reloader.lastReload).to.include({ outcome: 'rejected', reason: 'KEY_INVALID_CHARS', trigger: 'change:.api_key' });
    expect(reloader.lastReload!.checkedAt!.getTime()).to.equal(1_006_000);
    // Good again with the same key: that is news too.
    await writeKeyFile(keyFile, key);
    now += 2000;
    await reloader.reload('change:.api_key');
    expect(reloader.lastReload).to.include({ outcome: 'unchanged', trigger: 'change:.api_key' });
    now += 2000;
    await reloader.reload('backstop');
    expect(reloader.lastReload).to.include({ outcome: 'unchanged', trigger: 'change:.api_key' });
    expect(reloader.lastReload!.checkedAt!.getTime()).to.equal(1_010_000);
    reloader.close();
  });

  it('loads a short key but warns that it is weak, by fingerprint only', async function () {
    const { store, log, reloader } = await start();
    await writeKeyFile(keyFile, 'short-key');
    expect((await reloader.reload('test')).outcome).to.equal('loaded');
    expect(store.verify('short-key')?.key).to.equal('current');
    const warning = log.lines.find((l) => l.level === 'warn' && String(l.message).startsWith('key is shorter than 16'));
    expect(warning, 'a weak-key warning').to.not.equal(undefined);
    expect(log.text().includes('short-key')).to.equal(false);
  });

  it('says it is not ready, rather than keeping a key, when the key file is invalid at start', async function () {
    await writeFile(keyFile, 'has inner space\n');
    const log = captureLogger();
    const reloader = new KeyReloader({ keyFile, store: new KeyStore(), graceMs: 0, logger: log.logger });
    expect(await reloader.initialise({ development: false })).to.equal(undefined);
    expect(log.lines.some((l) => l.level === 'error' && l.message === 'key file rejected; not ready until it holds a valid key')).to.equal(true);
  });

  it('keeps unchanged re-reads silent', async function () {
    const { log, events, reloader } = await start();
    const lines = log.lines.length;
    for (let i = 0; i < 20; i++) expect((await reloader.reload('backstop')).outcome).to.equal('unchanged');
    expect(log.lines.length).to.equal(lines);
    expect(events.length).to.equal(21);
  });

  it('treats an empty file as a write in progress: quiet at first, an error if still empty on the re-read', async function () {
    const { key, store, log, reloader } = await start();
    await writeFile(keyFile, '');
    expect((await reloader.reload('change:.api_key')).reason).to.equal('KEY_EMPTY');
    expect(log.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect((await reloader.reload('retry')).reason).to.equal('KEY_EMPTY');
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.reason)).to.deep.equal(['KEY_EMPTY']);
    expect(store.verify(key)?.key).to.equal('current');
    reloader.close();
  });

  it('re-reads shortly after finding the file empty, so truncate-then-write is picked up', async function () {
    const { events, reloader } = await start(30);
    await writeFile(keyFile, '');
    await reloader.reload('change:.api_key');
    const key = generateKey();
    await writeKeyFile(keyFile, key);
    await waitFor(() => events.some((e) => e.trigger === 'retry' && e.outcome === 'loaded'), 'the retry');
  });

  it('rejects invalid content by reason and keeps the last good key', async function () {
    const { key, store, log, reloader } = await start();
    for (const [content, reason] of [['qwk_a b', 'KEY_INVALID_CHARS'], ['k'.repeat(2000), 'KEY_TOO_LARGE'], ['\u0000\u0001', 'KEY_INVALID_CHARS']]) {
      await writeFile(keyFile, content!);
      const event = await reloader.reload('test');
      expect(event).to.include({ outcome: 'rejected', reason });
      expect(store.verify(key)?.key).to.equal('current');
    }
    expect(log.lines.some((l) => l.level === 'error' && l.reason === 'KEY_TOO_LARGE')).to.equal(true);
    await writeKeyFile(keyFile, key);
    expect((await reloader.reload('test')).outcome).to.equal('unchanged');
    expect(log.lines.at(-1)).to.include({ level: 'info', message: 'key file valid again' });
  });

  // Regression: a read that never returned (a FIFO's open) held the serial reload chain for good.
  it('moves on after a read that does not return in time: rejected KEY_READ_TIMEOUT, logged, and the next reload loads', async function () {
    const [first, second] = [generateKey(), generateKey()];
    await writeKeyFile(keyFile, first);
    let stall = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const openFile = (async (...args: Parameters<typeof open>) => {
      if (stall && String(args[0]) === keyFile) await gate;
      return open(...args);
    }) as typeof open;
    const log = captureLogger();
    const store = new KeyStore();
    const reloader = new KeyReloader({ keyFile, store, graceMs: 0, logger: log.logger, reads: new FileReads({ timeoutMs: 50, openFile }) });
    await reloader.initialise({ development: false });
    stall = true;
    const stalled = await reloader.reload('test');
    expect(stalled).to.include({ outcome: 'rejected', reason: 'KEY_READ_TIMEOUT' });
    expect(log.lines.some((l) => l.level === 'error' && l.reason === 'KEY_READ_TIMEOUT')).to.equal(true);
    expect(store.verify(first)?.key).to.equal('current');
    stall = false;
    release();
    await writeKeyFile(keyFile, second);
    await waitFor(async () => (await reloader.reload('test')).outcome === 'loaded', 'a reload after the stalled read returned', 2000, 10);
    expect(store.verify(second)?.key).to.equal('current');
  });

  it('answers a reload whose history read fails unexpectedly with a rejection, not a failure', async function () {
    await writeKeyFile(keyFile, generateKey());
    const log = captureLogger();
    const history = { read: () => Promise.reject(new Error('history broke')) } as unknown as ReloadHistory;
    const reloader = new KeyReloader({ keyFile, store: new KeyStore(), graceMs: 0, logger: log.logger, history });
    const event = await reloader.reload('test');
    expect(event).to.include({ outcome: 'rejected', reason: 'KEY_UNREADABLE', trigger: 'test' });
    reloader.close();
  });

  it('names the start as the trigger of a rejection at start', async function () {
    await writeFile(keyFile, 'has inner space\n');
    const log = captureLogger();
    const events: ReloadEvent[] = [];
    const reloader = new KeyReloader({ keyFile, store: new KeyStore(), graceMs: 0, logger: log.logger, onReload: (e) => events.push(e) });
    await reloader.initialise({ development: false });
    expect(events.map((e) => [e.outcome, e.trigger])).to.deep.equal([['rejected', 'initialise']]);
    expect(log.lines.find((l) => l.level === 'error')).to.include({ trigger: 'initialise' });
  });

  for (const [source, env] of [['env', { apiKey: generateKey(), development: false }], ['development', { development: true }]] as const) {
    it(`on the ${source} key, takes a missing key file as the normal state: unchanged, silent`, async function () {
      const log = captureLogger();
      const reloader = new KeyReloader({ keyFile, store: new KeyStore(), graceMs: 0, logger: log.logger, retryMs: 10 });
      await reloader.initialise(env);
      const lines = log.lines.length;
      expect(await reloader.reload('backstop')).to.include({ outcome: 'unchanged', source });
      expect(log.lines.length).to.equal(lines);
      reloader.close();
    });
  }

  it('on the env key, rejects a key file that is there but invalid', async function () {
    const log = captureLogger();
    const store = new KeyStore();
    const envKey = generateKey();
    const reloader = new KeyReloader({ keyFile, store, graceMs: 0, logger: log.logger, retryMs: 60_000 });
    await reloader.initialise({ apiKey: envKey, development: false });
    await writeFile(keyFile, 'has inner space\n');
    expect(await reloader.reload('change:.api_key')).to.include({ outcome: 'rejected', reason: 'KEY_INVALID_CHARS' });
    expect(store.verify(envKey)?.key).to.equal('current');
    reloader.close();
  });

  it('says the key file is valid again, by fingerprint and trigger', async function () {
    const { key, log, reloader } = await start();
    await writeFile(keyFile, 'qwk_a b');
    await reloader.reload('test');
    await writeKeyFile(keyFile, key);
    await reloader.reload('change:.api_key');
    expect(log.lines.at(-1)).to.deep.equal({
      level: 'info', message: 'key file valid again', fingerprint: reloader.lastReload!.fingerprint, trigger: 'change:.api_key',
    });
  });

  it('re-reads shortly after finding the file missing too, so delete-then-create is picked up', async function () {
    const { events, reloader } = await start(30);
    await rm(keyFile);
    await reloader.reload('change:.api_key');
    await writeKeyFile(keyFile, generateKey());
    await waitFor(() => events.some((e) => e.trigger === 'retry' && e.outcome === 'loaded'), 'the retry');
  });

  it('re-reads once after an empty file, not again and again while it stays empty', async function () {
    const { events, reloader } = await start(10);
    await writeFile(keyFile, '');
    await reloader.reload('change:.api_key');
    await waitFor(() => events.some((e) => e.trigger === 'retry'), 'the retry');
    await periods(10, 6);
    expect(events.filter((e) => e.trigger === 'retry')).to.have.length(1);
    reloader.close();
  });

  it('does not re-read soon after content that is plainly invalid', async function () {
    const { events, reloader } = await start(10);
    await writeFile(keyFile, 'qwk_a b');
    await reloader.reload('change:.api_key');
    await periods(10, 6);
    expect(events.filter((e) => e.trigger === 'retry')).to.deep.equal([]);
    reloader.close();
  });

  it('reports a bad file at error again after a good read ended the streak', async function () {
    const { key, log, reloader } = await start();
    for (const content of ['qwk_a b', key, 'qwk_a b']) {
      await writeFile(keyFile, content);
      await reloader.reload('test');
    }
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.reason)).to.deep.equal(['KEY_INVALID_CHARS', 'KEY_INVALID_CHARS']);
  });
});
