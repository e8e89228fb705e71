import { expect } from 'chai';
import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFileError } from '../../../src/core/errors.js';
import { Action, historyPathFor } from '../../../src/core/history.js';
import { readHistory } from '../../../src/core/history-file.js';
import { generateKey } from '../../../src/core/key.js';
import { readKeyFile, writeKeyFile } from '../../../src/core/key-file.js';
import { KeyReloader } from '../../../src/server/reload/key-reloader.js';
import type { ReloadEvent } from '../../../src/server/reload/reload-record.js';
import { DEVELOPMENT_KEY, FirstKeyError, InvalidEnvKeyError, resolveInitialKey } from '../../../src/server/reload/key-source.js';
import type { InitialKeyEnv } from '../../../src/server/reload/key-source.js';
import { waitFor } from './helpers.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { captureLogger, tempDir } from './helpers.js';
import { registerSecret } from '../../helpers/log-capture.js';

describe('initial key source order', function () {
  let cleanup: () => Promise<void>;
  let keyFile: string;
  let store: KeyStore;
  let reloader: KeyReloader;
  let log: ReturnType<typeof captureLogger>;
  let events: ReloadEvent[];
  const envKey = generateKey();
  registerSecret(envKey);

  beforeEach(async function () {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    store = new KeyStore();
    log = captureLogger();
    events = [];
    reloader = new KeyReloader({ keyFile, store, graceMs: 0, logger: log.logger, onReload: (e) => events.push(e) });
  });
  // The key-leak guard (test/helpers/leak-guard.ts) reads every line these loggers wrote.
  afterEach(async function () {
    try {
      reloader.close();
    } finally {
      await cleanup();
    }
  });

  const fileKey = async () => {
    await mkdir(join(keyFile, '..'), { recursive: true });
    const key = generateKey();
    registerSecret(key);
    await writeKeyFile(keyFile, key);
    return key;
  };

  it('uses the key file first, even with an env key set', async function () {
    const key = await fileKey();
    expect(await reloader.initialise({ apiKey: envKey, development: true })).to.equal('file');
    expect(store.verify(key)?.key).to.equal('current');
    expect(store.verify(envKey)).to.equal(null);
  });

  it('falls back to QWEN_API_KEY and leaves the file system alone', async function () {
    expect(await reloader.initialise({ apiKey: envKey, development: true })).to.equal('env');
    expect(store.verify(envKey)?.key).to.equal('current');
    expect(await stat(keyFile).then(() => true, () => false)).to.equal(false);
  });

  it('refuses an invalid QWEN_API_KEY without echoing it', async function () {
    const bad = 'has inner space ' + generateKey();
    const err = await reloader.initialise({ apiKey: bad, development: false }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(KeyFileError);
    expect((err as Error).message.includes(bad)).to.equal(false);
    expect((err as KeyFileError).code).to.equal('KEY_INVALID_CHARS');
  });

  it('uses the development key only in development, with a loud warning', async function () {
    expect(await reloader.initialise({ development: true })).to.equal('development');
    expect(store.verify(DEVELOPMENT_KEY)?.key).to.equal('current');
    expect(log.lines.some((l) => l.level === 'warn' && String(l.message).includes('INSECURE'))).to.equal(true);
  });

  it('generates a key into a new key file on first run, and says how to see it', async function () {
    expect(await reloader.initialise({ development: false })).to.equal('generated');
    const key = await readKeyFile(keyFile);
    registerSecret(key);
    expect(store.verify(key)?.key).to.equal('current');
    expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
    const { entries } = await readHistory(historyPathFor(keyFile));
    expect(entries.map((e) => e.action)).to.deep.equal([Action.generated]);
    expect(entries[0]!.key === key).to.equal(true);
    expect(log.lines.some((l) => String(l.message).includes('manage-key show'))).to.equal(true);
    // The next check of the unchanged file is silent.
    const before = log.lines.length;
    expect((await reloader.reload('backstop')).outcome).to.equal('unchanged');
    expect(log.lines.length).to.equal(before);
  });

  it('lets processes racing on a first run share one generated key (workers starting together)', async function () {
    const others = [0, 1, 2].map(() => ({ store: new KeyStore(), log: captureLogger() }));
    // All read "no key file" before any of them generates; the losers get KEY_EXISTS and must load the winner's key.
    const sources = await Promise.all(others.map((o) =>
      new KeyReloader({ keyFile, store: o.store, graceMs: 0, logger: o.log.logger }).initialise({ development: false })));
    const key = await readKeyFile(keyFile);
    registerSecret(key);
    expect([...sources].sort()).to.deep.equal(['file', 'file', 'generated']);
    for (const o of others) expect(o.store.verify(key)?.key).to.equal('current');
    const { entries } = await readHistory(historyPathFor(keyFile));
    expect(entries.map((e) => e.action)).to.deep.equal([Action.generated]);
  });

  for (const [name, content] of [
    ['inner whitespace', 'qwk_abc def\n'],
    ['empty', ''],
    ['control characters', 'qwk_abc\u0007def'],
    ['too large', 'x'.repeat(5000)],
  ] as const) {
    it(`does not overwrite a key file that is present but invalid (${name}), and loads it once fixed`, async function () {
      await mkdir(join(keyFile, '..'), { recursive: true });
      await writeFile(keyFile, content);
      expect(await reloader.initialise({ apiKey: envKey, development: true })).to.equal(undefined);
      expect(store.loaded).to.equal(false);
      expect(await readFile(keyFile, 'utf8')).to.equal(content);
      expect(log.lines.some((l) => l.level === 'error' && typeof l.reason === 'string')).to.equal(true);
      const key = await fileKey();
      const event = await reloader.reload('test');
      expect(event.outcome).to.equal('loaded');
      expect(store.verify(key)?.key).to.equal('current');
    });
  }

  it('does not overwrite an unreadable key file (a directory in its place)', async function () {
    await mkdir(keyFile, { recursive: true });
    expect(await reloader.initialise({ development: false })).to.equal(undefined);
    expect(events.at(-1)?.reason).to.equal('KEY_NOT_REGULAR');
    expect((await stat(keyFile)).isDirectory()).to.equal(true);
  });

  it('never falls back to the env key once a file key was loaded', async function () {
    const key = await fileKey();
    await reloader.initialise({ apiKey: envKey, development: true });
    await unlink(keyFile);
    const event = await reloader.reload('test');
    expect(event.outcome).to.equal('rejected');
    expect(event.reason).to.equal('KEY_MISSING');
    expect(store.verify(key)?.key).to.equal('current');
    expect(store.verify(envKey)).to.equal(null);
    expect(store.verify(DEVELOPMENT_KEY)).to.equal(null);
    // Reported once the short re-check finds it still missing, then not on every later re-check.
    await waitFor(() => log.lines.some((l) => l.level === 'error'), 'the missing file reported');
    await reloader.reload('backstop');
    await reloader.reload('backstop');
    await reloader.reload('retry');
    expect(log.lines.filter((l) => l.level === 'error').length).to.equal(1);
  });

  it('lets a key file that appears later replace the env key', async function () {
    await reloader.initialise({ apiKey: envKey, development: false });
    // No file is the normal state on the env key: quiet.
    expect((await reloader.reload('backstop')).outcome).to.equal('unchanged');
    expect(log.lines.filter((l) => l.level === 'error').length).to.equal(0);
    const key = await fileKey();
    const event = await reloader.reload('test');
    expect(event.outcome).to.equal('loaded');
    expect(event.source).to.equal('file');
    expect(store.verify(key)?.key).to.equal('current');
    expect(store.describe()!.source).to.equal('file');
  });

  it('lets a key file that appears later replace the development key, which keeps no window', async function () {
    reloader = new KeyReloader({ keyFile, store, graceMs: 60_000, logger: log.logger });
    await reloader.initialise({ development: true });
    const key = await fileKey();
    await reloader.reload('test');
    expect(store.verify(key)?.key).to.equal('current');
    expect(store.verify(DEVELOPMENT_KEY)).to.equal(null);
  });
});

describe('resolveInitialKey: what it says and throws', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'));
  });
  afterEach(() => cleanup());
  const resolveWith = (env: InitialKeyEnv, keyFile = join(dir, 'api', '.api_key')) => {
    const log = captureLogger();
    return { log, result: resolveInitialKey({ keyFile, env, logger: log.logger, clock: () => Date.UTC(2026, 0, 1) }) };
  };

  it('takes an empty QWEN_API_KEY as none', async () => {
    const { result } = resolveWith({ apiKey: '', development: true });
    expect(await result).to.deep.equal({ key: DEVELOPMENT_KEY, source: 'development' });
  });

  it('says in the error what is wrong with an invalid QWEN_API_KEY, as "it", with its code, and keeps the cause', async () => {
    const { result } = resolveWith({ apiKey: 'has a space', development: false });
    const err = await result.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.an.instanceOf(InvalidEnvKeyError);
    expect((err as InvalidEnvKeyError).message).to.equal('QWEN_API_KEY is not a valid key: it contains whitespace, control or non-ASCII characters (KEY_INVALID_CHARS)');
    expect((err as InvalidEnvKeyError).code).to.equal('KEY_INVALID_CHARS');
    expect((err as Error).cause).to.be.an.instanceOf(KeyFileError);
  });

  it('names a QWEN_API_KEY that is too long as "it" too', async () => {
    const { result } = resolveWith({ apiKey: 'k'.repeat(2000), development: false });
    const err = await result.then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.equal('QWEN_API_KEY is not a valid key: it is 2000 characters; at most 1024 are accepted (KEY_TOO_LARGE)');
  });

  it('warns about the development key with its source and the key file it looked for', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    const { log, result } = resolveWith({ development: true }, keyFile);
    await result;
    expect(log.lines).to.deep.equal([{
      level: 'warn', message: 'USING THE INSECURE DEVELOPMENT KEY: no key file and no QWEN_API_KEY; never run like this outside development',
      source: 'development', keyFile,
    }]);
  });

  it('says how to see a generated key, with the command given or manage-key show', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    const given = resolveWith({ development: false, showKeyCommand: 'scripts/manage-key show' }, keyFile);
    await given.result;
    expect(given.log.lines).to.deep.equal([{
      level: 'info', message: 'generated a new API key into the key file; see it with: scripts/manage-key show', keyFile,
    }]);
    const other = join(dir, 'other', '.api_key');
    await mkdir(join(dir, 'other'));
    const fallback = resolveWith({ development: false }, other);
    await fallback.result;
    expect(fallback.log.lines.map((l) => l.message)).to.deep.equal(['generated a new API key into the key file; see it with: manage-key show']);
  });

  it('throws a FirstKeyError naming the key file and the cause when the key cannot be written', async () => {
    await writeFile(join(dir, 'not-a-dir'), 'x');
    const keyFile = join(dir, 'not-a-dir', 'api', '.api_key');
    const { result } = resolveWith({ development: false }, keyFile);
    const err = await result.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.an.instanceOf(FirstKeyError);
    expect((err as FirstKeyError).name).to.equal('FirstKeyError');
    expect((err as FirstKeyError).keyFile).to.equal(keyFile);
    expect((err as Error).message).to.match(new RegExp(`^cannot generate a first-run key into ${keyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S`));
    expect((err as Error).message).to.include(((err as Error).cause as Error).message);
  });

  it('names a cause that is not an error by its text', () => {
    expect(new FirstKeyError('/k', { cause: 'disk on fire' }).message).to.equal('cannot generate a first-run key into /k: disk on fire');
  });
});
