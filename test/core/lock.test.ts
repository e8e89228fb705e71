import { expect } from 'chai';
import { mkdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFileError } from '../../src/core/errors.js';
import { LOCK_WAIT_MS, lockPathFor, withKeyLock } from '../../src/core/lock.js';
import { rejectionCode, tempDir } from './helpers.js';

describe('lock', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('runs one holder at a time', async () => {
    const keyFile = join(dir, 'k');
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 5 }, () => withKeyLock(keyFile, async () => {
      most = Math.max(most, ++inside);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inside--;
    })));
    expect(most).to.equal(1);
  });

  // Regression: under umask 000 the lock directory was created 0777.
  it('creates the lock directory 0700 whatever the umask', async function () {
    if (process.platform === 'win32') this.skip();
    const keyFile = join(dir, 'k');
    const saved = process.umask(0);
    let mode: number;
    try {
      mode = await withKeyLock(keyFile, async () => (await stat(lockPathFor(keyFile))).mode & 0o777);
    } finally {
      process.umask(saved);
    }
    expect(mode.toString(8)).to.equal('700');
  });

  it('takes over a stale lock left by a dead process', async () => {
    const keyFile = join(dir, 'k');
    await mkdir(lockPathFor(keyFile));
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPathFor(keyFile), old, old);
    const started = Date.now();
    expect(await withKeyLock(keyFile, async () => 'ran')).to.equal('ran');
    expect(Date.now() - started).to.be.below(1000);
  });

  // Regression: the lock library retried every error (ENOENT, EACCES) for ~19 s.
  it('fails at once with LOCK_FAILED when the directory does not exist', async () => {
    const started = Date.now();
    expect(await rejectionCode(withKeyLock(join(dir, 'no', 'k'), async () => 'ran'))).to.equal('LOCK_FAILED');
    expect(Date.now() - started).to.be.below(1000);
  });

  it('names the lock directory after the key file', () => {
    expect(lockPathFor('/srv/api/.api_key')).to.equal('/srv/api/.api_key.lock');
  });

  it('waits 15 s for another writer by default', () => {
    expect(LOCK_WAIT_MS).to.equal(15_000);
  });

  it('gives up on a live holder after the wait, saying who holds what, with the cause', async () => {
    const keyFile = join(dir, 'k');
    let release: () => void = () => {};
    let taken: () => void = () => {};
    const inside = new Promise<void>((resolve) => { taken = resolve; });
    const held = withKeyLock(keyFile, () => new Promise<void>((resolve) => { release = resolve; taken(); }));
    try {
      await inside;
      const started = Date.now();
      const err = await withKeyLock(keyFile, async () => 'ran', 300).catch((e: unknown) => e);
      expect(Date.now() - started).to.be.within(250, 3000);
      expect(err).to.be.instanceOf(KeyFileError);
      expect((err as KeyFileError).message).to.equal(`cannot lock ${keyFile}: another run still holds ${keyFile}.lock after 0.3 s`);
      expect(((err as KeyFileError).cause as NodeJS.ErrnoException).code).to.equal('ELOCKED');
    } finally {
      release();
      await held;
    }
  });

  it('says why it cannot lock when the directory does not exist', async () => {
    const keyFile = join(dir, 'no', 'k');
    const err = await withKeyLock(keyFile, async () => 'ran').catch((e: KeyFileError) => e);
    expect((err as KeyFileError).message).to.match(new RegExp(`^cannot lock ${keyFile}: ENOENT`));
  });

  it('fails with LOCK_FAILED when the lock was taken away while the holder ran', async function () {
    this.timeout(10_000);
    const keyFile = join(dir, 'k');
    const err = await withKeyLock(keyFile, async () => {
      await rm(lockPathFor(keyFile), { recursive: true });
      // The lock library looks at its directory every second (update: 1000) and finds it gone.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return 'ran';
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeyFileError);
    expect((err as KeyFileError).code).to.equal('LOCK_FAILED');
    expect((err as KeyFileError).message).to.match(new RegExp(`^lost the lock on ${keyFile}: `));
  });

  it('passes the holder\'s error through and releases the lock', async () => {
    const keyFile = join(dir, 'k');
    const err = await withKeyLock(keyFile, async () => {
      throw new Error('boom');
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal('boom');
    expect(await withKeyLock(keyFile, async () => 'again')).to.equal('again');
  });
});
