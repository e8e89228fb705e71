import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Action, historyPathFor } from '../../../src/core/history.js';
import { appendHistory } from '../../../src/core/history-file.js';
import { generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { rotateKeyFile } from '../../../src/core/key-ops.js';
import { Latencies, pause, startHotReload, tempDir, waitFor } from './helpers.js';
import type { HotReload } from './helpers.js';
import { registerSecret } from '../../helpers/log-capture.js';

/** A key's fingerprint as the docs define it (sha256: + 12 hex digits), computed here, not by the code under test. */
const sha256Fingerprint = (key: string): string => 'sha256:' + createHash('sha256').update(key).digest('hex').slice(0, 12);

// Every way a key file really changes, against the real file system and the real watcher.
// The backstop is off, so each pickup is the watch's doing.
describe('hot reload: every way the key file changes', function () {
  const latencies = new Latencies();
  const keys: string[] = [];
  let cleanup: () => Promise<void>;
  let dir: string;
  let keyFile: string;
  let hot: HotReload;

  const newKey = () => {
    const key = generateKey();
    keys.push(key);
    registerSecret(key);
    return key;
  };
  const isCurrent = (key: string) => hot.store.verify(key)?.key === 'current';
  /** Waits (≤ 1 s) until `key` is the current key; records the time since the final write began. */
  const pickedUp = async (name: string, key: string, since: number) => {
    await waitFor(() => isCurrent(key), `${name}: new key in force`);
    latencies.add(name, performance.now() - since);
  };
  const now = () => performance.now();
  /** Waits until the reloader has handled something after `count` events. */
  const nextEvent = (count: number) => waitFor(() => hot.events.length > count, 'a reload');

  beforeEach(async function () {
    ({ dir: dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    await mkdir(join(dir, 'api'));
    await writeKeyFile(keyFile, newKey());
    hot = await startHotReload(keyFile);
  });

  // A key never reaches a log line, whatever happened: the key-leak guard reads every line hot.log wrote.
  afterEach(async function () {
    try {
      await hot?.close();
    } finally {
      await cleanup();
    }
  });

  after(() => latencies.report('hot reload cases'));

  it('1. picks up an atomic rename (writeKeyFile)', async function () {
    for (let i = 0; i < 10; i++) {
      const key = newKey();
      const t = now();
      await writeKeyFile(keyFile, key);
      await pickedUp('1a atomic rename (writeKeyFile)', key, t);
    }
  });

  it('1. picks up a foreign temp file renamed over the key', async function () {
    for (let i = 0; i < 10; i++) {
      const key = newKey();
      const tmp = join(dir, 'api', `.api_key.${process.pid}.${i}.tmp`);
      await writeFile(tmp, key + '\n', { mode: 0o600 });
      const t = now();
      await rename(tmp, keyFile);
      await pickedUp('1b foreign temp file + rename', key, t);
    }
  });

  it('2. picks up an in-place rewrite (echo NEW > file)', async function () {
    for (let i = 0; i < 10; i++) {
      const key = newKey();
      const t = now();
      await writeFile(keyFile, key + '\n');
      await pickedUp('2a in-place O_TRUNC + write', key, t);
    }
  });

  it('2. never accepts the empty moment of truncate, pause, write', async function () {
    for (let i = 0; i < 5; i++) {
      const old = keys.at(-1)!;
      const key = newKey();
      const handle = await open(keyFile, 'r+');
      let t = 0;
      try {
        const seen = hot.events.length;
        await handle.truncate(0);
        await nextEvent(seen);
        await pause(20);
        expect(isCurrent(old), 'old key still in force while the file is empty').to.equal(true);
        t = now();
        await handle.write(key + '\n', 0);
      } finally {
        await handle.close();
      }
      await pickedUp('2b truncate, 20 ms, write', key, t);
    }
    expect(hot.events.some((e) => e.outcome === 'rejected' && e.reason === 'KEY_EMPTY')).to.equal(true);
  });

  it('3. keeps the last key when the file is deleted, and picks up its re-creation', async function () {
    const old = keys.at(-1)!;
    await unlink(keyFile);
    await waitFor(() => hot.events.some((e) => e.reason === 'KEY_MISSING'), 'rejection of the missing file');
    expect(isCurrent(old)).to.equal(true);
    // A delete may be the first half of a re-create: it is an error once the short re-check still finds nothing.
    const missingErrors = () => hot.log.lines.filter((l) => l.level === 'error' && l.reason === 'KEY_MISSING').length;
    await waitFor(() => missingErrors() > 0, 'the missing file reported as an error');
    expect(missingErrors()).to.equal(1);
    expect(hot.store.describe()!.source).to.equal('file');
    await pause(200);
    expect(isCurrent(old)).to.equal(true);
    const key = newKey();
    const t = now();
    await writeFile(keyFile, key + '\n', { mode: 0o600 });
    await pickedUp('3 delete, 200 ms, re-create', key, t);
    expect(hot.log.lines.some((l) => l.message === 'key loaded' && l.trigger !== 'initialise')).to.equal(true);
  });

  it('3. picks up a delete immediately followed by a re-create', async function () {
    for (let i = 0; i < 5; i++) {
      const key = newKey();
      const t = now();
      await unlink(keyFile);
      await writeFile(keyFile, key + '\n', { mode: 0o600 });
      await pickedUp('3 delete + immediate re-create', key, t);
    }
  });

  it('4. picks up an editor save (rename to backup, write new, delete backup)', async function () {
    for (let i = 0; i < 5; i++) {
      const key = newKey();
      const backup = keyFile + '~';
      const t = now();
      await rename(keyFile, backup);
      await writeFile(keyFile, key + '\n', { mode: 0o600 });
      await unlink(backup);
      await pickedUp('4 vim-style save', key, t);
    }
  });

  it('sees a revocation appended to the history while the key stays the same', async function () {
    const { key, previous } = await rotateKeyFile({ keyFile, graceMs: 10 * 60_000 });
    keys.push(key);
    await waitFor(() => isCurrent(key) && hot.store.verify(previous)?.key === 'previous', 'rotation with a window');
    const t = now();
    await appendHistory(historyPathFor(keyFile), [{ time: new Date(), action: Action.revoked, key: previous }]);
    await waitFor(() => hot.store.verify(previous) === null, 'previous key revoked');
    latencies.add('revocation appended to the history', now() - t);
    expect(isCurrent(key)).to.equal(true);
  });

  it('6. reads files written on Windows (UTF-8 BOM, CRLF, UTF-16LE BOM)', async function () {
    const bom8 = newKey();
    let t = now();
    await writeFile(keyFile, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(bom8 + '\r\n')]));
    await pickedUp('6 UTF-8 BOM + CRLF', bom8, t);
    const crlf = newKey();
    t = now();
    await writeFile(keyFile, crlf + '\r\n');
    await pickedUp('6 CRLF', crlf, t);
    const utf16 = newKey();
    t = now();
    await writeFile(keyFile, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf16 + '\r\n', 'utf16le')]));
    await pickedUp('6 UTF-16LE BOM + CRLF', utf16, t);
  });

  it('7. survives the key directory being removed and re-created', async function () {
    for (let i = 0; i < 3; i++) {
      const old = keys.at(-1)!;
      const seen = hot.events.length;
      await rm(join(dir, 'api'), { recursive: true });
      await waitFor(() => hot.events.slice(seen).some((e) => e.reason === 'KEY_MISSING'), 'rejection of the missing file');
      expect(isCurrent(old)).to.equal(true);
      await mkdir(join(dir, 'api'));
      const key = newKey();
      const t = now();
      await writeKeyFile(keyFile, key);
      await pickedUp('7 directory removed + re-created (from the new write)', key, t);
    }
    // The watch is still alive afterwards.
    const key = newKey();
    const t = now();
    await writeKeyFile(keyFile, key);
    await pickedUp('7 rotation after the directory came back', key, t);
  });

  it('8. the last write wins after a storm of 500 rotations, loading keys only in the order they were written', async function () {
    this.timeout(30000);
    const written: string[] = [];
    let t = 0;
    const start = performance.now();
    for (let i = 0; i < 500; i++) {
      written.push(generateKey());
      registerSecret(written[i]!);
      await writeFile(keyFile + '.tmp', written[i] + '\n');
      t = now();
      await rename(keyFile + '.tmp', keyFile);
    }
    const key = written.at(-1)!;
    const took = performance.now() - start;
    await pickedUp('8 storm: 500 renames, last one', key, t);
    console.log(`      (500 rotations written in ${took.toFixed(0)} ms)`);
    // Nothing read later (the settle re-check, a late event) puts an older key back: wait for the reloader
    // to go quiet (nothing new for 150 ms), then look at every key it loaded, by when it was written.
    for (let seen = -1; seen !== hot.events.length;) {
      seen = hot.events.length;
      await pause(150);
    }
    expect(isCurrent(key)).to.equal(true);
    const order = new Map(written.map((k, i) => [sha256Fingerprint(k), i]));
    const loaded = hot.events.filter((e) => e.outcome === 'loaded').map((e) => order.get(e.fingerprint!) ?? -1);
    expect(loaded.at(-1)).to.equal(499);
    expect(loaded.filter((index, i) => i > 0 && index <= loaded[i - 1]!), 'a key loaded after a newer one').to.deep.equal([]);
  });

  it('8. the last write wins for pairs of writes 0–20 ms apart', async function () {
    for (const gap of [0, 1, 2, 5, 10, 15, 20]) {
      for (let i = 0; i < 3; i++) {
        await writeKeyFile(keyFile, newKey());
        if (gap > 0) await pause(gap);
        const key = newKey();
        const t = now();
        await writeKeyFile(keyFile, key);
        await pickedUp(`8 pair ${String(gap).padStart(2)} ms apart`, key, t);
      }
    }
    await pause(150);
    expect(isCurrent(keys.at(-1)!)).to.equal(true);
  });
});
