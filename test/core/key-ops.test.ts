import { expect } from 'chai';
import { appendFile, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyFile, rotateKeyFile } from '../../src/core/key-ops.js';
import { readKeyFile } from '../../src/core/key-file.js';
import { Action, GRACE_UNTIL, historyPathFor } from '../../src/core/history.js';
import { readHistory } from '../../src/core/history-file.js';
import { fingerprint, generateKey } from '../../src/core/key.js';
import { KeyFileError } from '../../src/core/errors.js';
import { counterRandom, directoryDigest, rejectionCode, tempDir } from './helpers.js';

const T0 = new Date(2024, 0, 2, 3, 4, 5);

// The KeyFileError `promise` rejects with; anything else fails the test.
async function rejection(promise: Promise<unknown>): Promise<KeyFileError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof KeyFileError)) throw new Error(`expected a KeyFileError, got ${String(err)}`);
  return err;
}

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

    describe('from a key file that holds no usable key', () => {
      // What a hand edit leaves: the key file broken, the history naming the key servers keep in force.
      async function brokenAfterGenerate(content: string): Promise<string> {
        const first = await generateKeyFile({ keyFile, clock });
        await writeFile(keyFile, content);
        return first;
      }

      it('replaces the history\'s current key in the history, with the window, and puts the new key in the file', async () => {
        const first = await brokenAfterGenerate('\n');
        const { key, previous } = await rotateKeyFile({ keyFile, clock, graceMs: 600_000 });
        expect(previous === first).to.equal(true);
        expect((await readKeyFile(keyFile)) === key).to.equal(true);
        const lines = (await readFile(historyPathFor(keyFile), 'utf8')).trimEnd().split('\n');
        expect(lines.slice(1)).to.deep.equal([
          `2024-01-02 03:04:05 | Rotated (replaced) | ${first}`,
          `2024-01-02 03:04:05 | Rotated (new) | ${key}`,
          `2024-01-02 03:04:05 | Grace until ${new Date(T0.getTime() + 600_000).toISOString()} | ${first}`,
        ]);
      });

      it('revokes the history\'s current key with --revoke', async () => {
        const first = await brokenAfterGenerate('');
        await rotateKeyFile({ keyFile, clock, revoke: true });
        const { entries } = await readHistory(historyPathFor(keyFile));
        expect(entries.map((e) => e.action)).to.deep.equal([Action.generated, Action.replaced, Action.rotatedNew, Action.revoked]);
        expect(entries.at(-1)!.key === first).to.equal(true);
      });

      it('notes why the file held no key and which key it replaced, by fingerprint only', async () => {
        const first = await brokenAfterGenerate('two words\n');
        const notes: string[] = [];
        const { key } = await rotateKeyFile({ keyFile, clock, onNote: (m) => notes.push(m) });
        expect(notes).to.deep.equal([`the key file ${keyFile} held no usable key (key contains whitespace, control or non-ASCII characters); `
          + `this rotation replaced the history's current key ${fingerprint(first)}, the one running servers keep in force`]);
        expect(notes.some((n) => n.includes(first) || n.includes(key))).to.equal(false);
      });

      it('notes nothing when the key file holds a key', async () => {
        await generateKeyFile({ keyFile, clock });
        const notes: string[] = [];
        await rotateKeyFile({ keyFile, clock, onNote: (m) => notes.push(m) });
        expect(notes).to.deep.equal([]);
      });

      it('replaces the history\'s current key when the key file is gone', async () => {
        const first = await brokenAfterGenerate('');
        await rm(keyFile);
        const { previous } = await rotateKeyFile({ keyFile, clock });
        expect(previous === first).to.equal(true);
      });

      it('replaces the latest Rotated (new) key, not an older one', async () => {
        await generateKeyFile({ keyFile, clock });
        const { key: second } = await rotateKeyFile({ keyFile, clock });
        await writeFile(keyFile, '');
        const { previous } = await rotateKeyFile({ keyFile, clock });
        expect(previous === second).to.equal(true);
      });

      for (const [code, content] of [
        ['KEY_TOO_LARGE', 'k'.repeat(2000)],
        ['KEY_INVALID_CHARS', 'two words\n'],
        ['KEY_BAD_ENCODING', Buffer.from([0xc3, 0x28])],
      ] as const) {
        it(`replaces the history's current key when the key file fails with ${code}`, async () => {
          const first = await brokenAfterGenerate('');
          await writeFile(keyFile, content);
          expect(await readKeyFile(keyFile).catch((e: { code: string }) => e.code)).to.equal(code);
          const { previous } = await rotateKeyFile({ keyFile, clock });
          expect(previous === first).to.equal(true);
        });
      }

      it('says an empty key file without a history is empty, not missing, changing nothing', async () => {
        await mkdir(join(dir, 'api'));
        await writeFile(keyFile, '');
        const err = await rejection(rotateKeyFile({ keyFile, clock }));
        expect([err.code, err.message]).to.deep.equal(['KEY_EMPTY', 'key file is empty, and its history names no current key, so there is no key '
          + 'to rotate (fix the file, or start afresh with "manage-key generate --force", which gives no window)']);
        expect(await readdir(join(dir, 'api'))).to.deep.equal(['.api_key']);
      });

      it('does not use a current key the history revoked', async () => {
        const first = await brokenAfterGenerate('');
        await appendFile(historyPathFor(keyFile), `2024-01-02 03:04:05 | Revoked | ${first}\n`);
        const before = await directoryDigest(join(dir, 'api'));
        const err = await rejection(rotateKeyFile({ keyFile, clock }));
        expect([err.code, err.message.replace(fingerprint(first), 'FP')]).to.deep.equal(['KEY_EMPTY', 'key file is empty, and its history names a '
          + 'revoked key (FP) as current, so there is no key to rotate (fix the file, or start afresh with "manage-key generate --force", which gives no window)']);
        expect(await directoryDigest(join(dir, 'api'))).to.equal(before);
      });

      it('does not use a current key that is not a valid key', async () => {
        await mkdir(join(dir, 'api'));
        await writeFile(keyFile, '');
        await writeFile(historyPathFor(keyFile), `2024-01-02 03:04:05 | Generated | ${'k'.repeat(1100)}\n`);
        const err = await rejection(rotateKeyFile({ keyFile, clock }));
        expect([err.code, err.message]).to.deep.equal(['KEY_EMPTY', 'key file is empty, and its history names a current key that is not a valid key '
          + '(key is 1100 characters; at most 1024 are accepted), so there is no key to rotate (fix the file, or start afresh with '
          + '"manage-key generate --force", which gives no window)']);
      });

      it('keeps the invalid file\'s own code when the history names no key', async () => {
        await mkdir(join(dir, 'api'));
        await writeFile(keyFile, 'two words\n');
        expect(await rejectionCode(rotateKeyFile({ keyFile, clock }))).to.equal('KEY_INVALID_CHARS');
      });

      it('keeps the key file\'s own error as the cause of a refusal', async () => {
        await mkdir(join(dir, 'api'));
        await writeFile(keyFile, '');
        const empty = await rejection(rotateKeyFile({ keyFile, clock }));
        await rm(keyFile);
        const missing = await rejection(rotateKeyFile({ keyFile, clock }));
        expect([empty, missing].map((e) => [(e.cause as KeyFileError).code, (e.cause as KeyFileError).message])).to.deep.equal([
          ['KEY_EMPTY', 'key file is empty'], ['KEY_MISSING', `key file ${keyFile} does not exist`]]);
      });

      it('says KEY_MISSING (with a hint to generate) for a missing key file whose history names no usable key', async () => {
        const first = await brokenAfterGenerate('');
        await rm(keyFile);
        await appendFile(historyPathFor(keyFile), `2024-01-02 03:04:05 | Revoked | ${first}\n`);
        const err = await rejection(rotateKeyFile({ keyFile, clock }));
        expect([err.code, err.message]).to.deep.equal(['KEY_MISSING', `no key to rotate in ${keyFile}; run "manage-key generate" first`]);
      });

      it('does not bypass a key file that is not a regular file', async () => {
        await brokenAfterGenerate('');
        await rm(keyFile);
        await mkdir(keyFile);
        const before = await readFile(historyPathFor(keyFile), 'utf8');
        expect(await rejectionCode(rotateKeyFile({ keyFile, clock }))).to.equal('KEY_NOT_REGULAR');
        expect(await readFile(historyPathFor(keyFile), 'utf8')).to.equal(before);
      });

      it('does not bypass a key file it may not write (a link out of its directory)', async () => {
        await brokenAfterGenerate('');
        await rm(keyFile);
        await writeFile(join(dir, 'elsewhere'), '');
        await symlink(join(dir, 'elsewhere'), keyFile);
        const before = await readFile(historyPathFor(keyFile), 'utf8');
        expect(await rejectionCode(rotateKeyFile({ keyFile, clock }))).to.equal('KEY_UNTRUSTED');
        expect(await readFile(historyPathFor(keyFile), 'utf8')).to.equal(before);
      });
    });

    it('is write-ahead: when the history cannot be written the key file is untouched', async () => {
      const first = await generateKeyFile({ keyFile, clock });
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
