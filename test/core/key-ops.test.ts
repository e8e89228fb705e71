import { expect } from 'chai';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyFile, rotateKeyFile } from '../../src/core/key-ops.js';
import { readKeyFile } from '../../src/core/key-file.js';
import { Action, GRACE_UNTIL, historyPathFor } from '../../src/core/history.js';
import { readHistory } from '../../src/core/history-file.js';
import { generateKey } from '../../src/core/key.js';
import { counterRandom, rejectionCode, tempDir } from './helpers.js';

const T0 = new Date(2024, 0, 2, 3, 4, 5);

describe('key-ops', () => {
  let dir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  const clock = () => T0;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
  });
  afterEach(() => cleanup());

  describe('generateKeyFile', () => {
    it('creates the directory, a 0600 key file and a 0600 history with one Generated line', async () => {
      const random = counterRandom();
      const key = await generateKeyFile({ keyFile, clock, random });
      expect(key === generateKey(counterRandom())).to.equal(true);
      expect((await readKeyFile(keyFile)) === key).to.equal(true);
      expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
      expect((await stat(historyPathFor(keyFile))).mode & 0o777).to.equal(0o600);
      expect((await readFile(historyPathFor(keyFile), 'utf8')) === `2024-01-02 03:04:05 | Generated | ${key}\n`).to.equal(true);
    });

    it('refuses with KEY_EXISTS when a key exists, changing nothing', async () => {
      const key = await generateKeyFile({ keyFile, clock });
      const before = await readFile(historyPathFor(keyFile), 'utf8');
      expect(await rejectionCode(generateKeyFile({ keyFile, clock }))).to.equal('KEY_EXISTS');
      expect((await readKeyFile(keyFile)) === key).to.equal(true);
      expect(await readFile(historyPathFor(keyFile), 'utf8')).to.equal(before);
    });

    it('refuses to overwrite a file that holds something else', async () => {
      await mkdir(dir + '/api');
      await writeFile(keyFile, 'not a key\n');
      expect(await rejectionCode(generateKeyFile({ keyFile, clock }))).to.equal('KEY_EXISTS');
      expect(await readFile(keyFile, 'utf8')).to.equal('not a key\n');
    });

    it('fills an empty key file', async () => {
      await mkdir(dir + '/api');
      await writeFile(keyFile, '');
      const key = await generateKeyFile({ keyFile, clock });
      expect((await readKeyFile(keyFile)) === key).to.equal(true);
    });

    it('replaces an existing key with force and logs Generated again', async () => {
      const first = await generateKeyFile({ keyFile, clock });
      const second = await generateKeyFile({ keyFile, clock, force: true });
      expect(first === second).to.equal(false);
      const { entries } = await readHistory(historyPathFor(keyFile));
      expect(entries.map((e) => e.action)).to.deep.equal([Action.generated, Action.generated]);
      expect((await readKeyFile(keyFile)) === second).to.equal(true);
    });
  });

  describe('rotateKeyFile', () => {
    it('logs Rotated (replaced) and Rotated (new) with one timestamp, then swaps the key', async () => {
      const first = await generateKeyFile({ keyFile, clock });
      const later = new Date(T0.getTime() + 61_000);
      const { key, previous } = await rotateKeyFile({ keyFile, clock: () => later });
      expect(previous === first).to.equal(true);
      expect((await readKeyFile(keyFile)) === key).to.equal(true);
      const lines = (await readFile(historyPathFor(keyFile), 'utf8')).trimEnd().split('\n');
      expect(lines.slice(1)).to.deep.equal([
        `2024-01-02 03:05:06 | Rotated (replaced) | ${first}`,
        `2024-01-02 03:05:06 | Rotated (new) | ${key}`,
      ]);
    });

    it('writes a Grace until line naming the old key when given a window', async () => {
      const first = await generateKeyFile({ keyFile, clock });
      await rotateKeyFile({ keyFile, clock, graceMs: 600_000 });
      const { entries } = await readHistory(historyPathFor(keyFile));
      const last = entries.at(-1)!;
      expect(last.action).to.equal(GRACE_UNTIL + new Date(T0.getTime() + 600_000).toISOString());
      expect(last.key === first).to.equal(true);
      // T0 (local 2024-01-02 03:04:05) plus ten minutes, as the UTC time the line holds.
      expect(last.action).to.equal(`Grace until ${new Date(2024, 0, 2, 3, 14, 5).toISOString()}`);
    });

    it('writes a Revoked line naming the old key when revoking (and no Grace line)', async () => {
      const first = await generateKeyFile({ keyFile, clock });
      await rotateKeyFile({ keyFile, clock, graceMs: 600_000, revoke: true });
      const { entries } = await readHistory(historyPathFor(keyFile));
      expect(entries.map((e) => e.action)).to.deep.equal([Action.generated, Action.replaced, Action.rotatedNew, Action.revoked]);
      expect(entries.at(-1)!.key === first).to.equal(true);
    });

    it('says KEY_MISSING (with a hint to generate) when there is no key', async () => {
      await mkdir(join(dir, 'api'));
      expect(await rejectionCode(rotateKeyFile({ keyFile, clock }))).to.equal('KEY_MISSING');
    });

    // Regression: with no directory the lock library retried mkdir for ~19 s before a vague lock error.
    it('says KEY_MISSING at once when the key file\'s directory does not exist', async () => {
      const started = Date.now();
      const err = await rotateKeyFile({ keyFile, clock }).catch((e: Error) => e);
      expect((err as { code?: string }).code).to.equal('KEY_MISSING');
      expect((err as Error).message).to.include('manage-key generate');
      expect(Date.now() - started).to.be.below(1000);
    });

    it('says KEY_MISSING when a directory on the key file\'s path is a file', async () => {
      await writeFile(join(dir, 'api'), 'a file\n');
      expect(await rejectionCode(rotateKeyFile({ keyFile, clock }))).to.equal('KEY_MISSING');
    });

    it('refuses an invalid key file with its own code, changing nothing', async () => {
      await mkdir(join(dir, 'api'));
      await writeFile(keyFile, 'two words\n');
      expect(await rejectionCode(rotateKeyFile({ keyFile, clock }))).to.equal('KEY_INVALID_CHARS');
      expect(await readdir(join(dir, 'api'))).to.deep.equal(['.api_key']);
    });

    it('is write-ahead: when the history cannot be written the key file is untouched', async () => {
      const first = await generateKeyFile({ keyFile, clock });
      const { rm } = await import('node:fs/promises');
      await rm(historyPathFor(keyFile));
      await mkdir(historyPathFor(keyFile));
      const err = await rotateKeyFile({ keyFile, clock }).catch((e: Error) => e);
      expect(err).to.be.instanceOf(Error);
      expect((await readKeyFile(keyFile)) === first).to.equal(true);
    });

    it('releases the lock after success and after failure', async () => {
      await generateKeyFile({ keyFile, clock });
      await rotateKeyFile({ keyFile, clock });
      await rotateKeyFile({ keyFile, clock, graceMs: 1 });
      expect((await readdir(join(dir, 'api'))).sort()).to.deep.equal(['.api_key', '.api_key_history']);
    });

    it('serialises concurrent rotations into one unbroken chain', async () => {
      await generateKeyFile({ keyFile, clock });
      await Promise.all(Array.from({ length: 8 }, () => rotateKeyFile({ keyFile, clock })));
      const { entries, malformed } = await readHistory(historyPathFor(keyFile));
      expect(malformed).to.equal(0);
      expect(entries).to.have.length(17);
      let current = entries[0]!.key;
      for (let i = 1; i < entries.length; i += 2) {
        expect(entries[i]!.action).to.equal(Action.replaced);
        expect(entries[i]!.key === current, `line ${i + 1} names the key that was current`).to.equal(true);
        expect(entries[i + 1]!.action).to.equal(Action.rotatedNew);
        current = entries[i + 1]!.key;
      }
      expect((await readKeyFile(keyFile)) === current).to.equal(true);
    });
  });
});
