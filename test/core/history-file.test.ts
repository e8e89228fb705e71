import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Action, parseHistory } from '../../src/core/history.js';
import type { HistoryEntry } from '../../src/core/history.js';
import { MAX_HISTORY_LINE, appendHistory, readHistory, scanHistory } from '../../src/core/history-file.js';
import { descriptorsInto, rejectionCode, tempDir } from './helpers.js';

const T0 = new Date(2024, 4, 6, 7, 8, 9);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const entry = (seconds: number, action: string, key: string): HistoryEntry => ({ time: at(seconds), action, key });

describe('history file', () => {
  it('reads a missing history as empty', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      expect(await readHistory(join(dir, 'none'))).to.deep.equal({ entries: [], malformed: 0 });
      await writeFile(join(dir, 'file'), 'x');
      expect(await readHistory(join(dir, 'file', 'h'))).to.deep.equal({ entries: [], malformed: 0 });
    } finally {
      await cleanup();
    }
  });

  describe('scanHistory', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ dir, cleanup } = await tempDir()));
    afterEach(() => cleanup());

    it('reads entries across chunk boundaries and skips overlong and malformed lines, counting them', async () => {
      const path = join(dir, 'h');
      const lines = Array.from({ length: 3000 }, (_, i) => `2024-05-06 07:08:09 | Generated | key-${i}`);
      lines.splice(1500, 0, 'x'.repeat(200_000), 'not a line');
      await writeFile(path, lines.join('\r\n') + '\n\n');
      const keys: string[] = [];
      expect(await scanHistory(path, (e) => keys.push(e.key))).to.deep.equal({ entries: 3000, malformed: 2 });
      expect(keys[0]).to.equal('key-0');
      expect(keys.at(-1)).to.equal('key-2999');
      expect(new Set(keys).size).to.equal(3000);
    });

    it('counts a last line without a newline, and one just over the longest line as malformed', async () => {
      const path = join(dir, 'h');
      await writeFile(path, `${'y'.repeat(MAX_HISTORY_LINE + 1)}\n2024-05-06 07:08:09 | Generated | k1`);
      const keys: string[] = [];
      expect(await scanHistory(path, (e) => keys.push(e.key))).to.deep.equal({ entries: 1, malformed: 1 });
      expect(keys).to.deep.equal(['k1']);
    });

    it('counts an overlong last line without a newline as malformed', async () => {
      const path = join(dir, 'h');
      await writeFile(path, `2024-05-06 07:08:09 | Generated | k1\n${'y'.repeat(MAX_HISTORY_LINE + 1)}`);
      expect(await scanHistory(path, () => undefined)).to.deep.equal({ entries: 1, malformed: 1 });
    });

    it('reads an entry of exactly the longest line (4096 bytes)', async () => {
      const path = join(dir, 'h');
      const prefix = '2024-05-06 07:08:09 | Generated | ';
      const key = 'k'.repeat(4096 - prefix.length);
      await writeFile(path, `${prefix}${key}\n${prefix}${key}x\n`);
      const keys: string[] = [];
      expect(await scanHistory(path, (e) => keys.push(e.key))).to.deep.equal({ entries: 1, malformed: 1 });
      expect(keys).to.deep.equal([key]);
    });

    it('skips lines of blanks without counting them', async () => {
      const path = join(dir, 'h');
      await writeFile(path, '   \n\t\n2024-05-06 07:08:09 | Generated | k1\n  ');
      expect(await scanHistory(path, () => undefined)).to.deep.equal({ entries: 1, malformed: 0 });
    });

    it('closes the file after reading it', async () => {
      const path = join(dir, 'h');
      await writeFile(path, '2024-05-06 07:08:09 | Generated | k1\n');
      await scanHistory(path, () => undefined);
      expect(descriptorsInto(dir)).to.deep.equal([]);
    });

    it('refuses a FIFO at once (KEY_NOT_REGULAR)', async function () {
      if (process.platform === 'win32') this.skip();
      execFileSync('mkfifo', [join(dir, 'h')]);
      expect(await rejectionCode(scanHistory(join(dir, 'h'), () => undefined))).to.equal('KEY_NOT_REGULAR');
    });
  });

  describe('appendHistory', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ dir, cleanup } = await tempDir()));
    afterEach(() => cleanup());

    it('creates the file with mode 0600 and writes whole lines', async () => {
      const path = join(dir, 'h');
      await appendHistory(path, [entry(0, Action.generated, 'k1')]);
      await appendHistory(path, [entry(1, Action.replaced, 'k1'), entry(1, Action.rotatedNew, 'k2')]);
      expect((await stat(path)).mode & 0o777).to.equal(0o600);
      expect(await readFile(path, 'utf8')).to.equal([
        '2024-05-06 07:08:09 | Generated | k1',
        '2024-05-06 07:08:10 | Rotated (replaced) | k1',
        '2024-05-06 07:08:10 | Rotated (new) | k2',
        '',
      ].join('\n'));
    });

    // Regression: an existing 0644 history stayed 0644 and received every new key in full.
    it('tightens an existing looser history to 0600 before appending', async function () {
      if (process.platform === 'win32') this.skip();
      const path = join(dir, 'h');
      await writeFile(path, '');
      await chmod(path, 0o644);
      await appendHistory(path, [entry(0, Action.generated, 'k1')]);
      expect(((await stat(path)).mode & 0o777).toString(8)).to.equal('600');
    });

    it('refuses a FIFO or a symlink in its place without waiting (KEY_NOT_REGULAR)', async function () {
      if (process.platform === 'win32') this.skip();
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      expect(await rejectionCode(appendHistory(join(dir, 'fifo'), [entry(0, Action.generated, 'k1')]))).to.equal('KEY_NOT_REGULAR');
      await writeFile(join(dir, 'target'), '');
      await symlink('target', join(dir, 'link'));
      expect(await rejectionCode(appendHistory(join(dir, 'link'), [entry(0, Action.generated, 'k1')]))).to.equal('KEY_NOT_REGULAR');
      expect(await readFile(join(dir, 'target'), 'utf8')).to.equal('');
    });

    it('never merges into a torn last line: new entries start on a line of their own', async () => {
      const path = join(dir, 'h');
      await writeFile(path, '2024-05-06 07:08:09 | Generated | k1\n2024-05-06 07:08:10 | Rotated (rep');
      await appendHistory(path, [entry(2, Action.generated, 'k3')]);
      const { entries, malformed } = parseHistory(await readFile(path, 'utf8'));
      expect(malformed).to.equal(1);
      expect(entries.map((e) => `${e.action}|${e.key}`)).to.deep.equal(['Generated|k1', 'Generated|k3']);
    });

    it('takes its entries back out on request, byte for byte, and removes a file it created', async () => {
      const path = join(dir, 'h');
      const takeBackFirst = await appendHistory(path, [entry(0, Action.generated, 'k1')]);
      const before = await readFile(path);
      const takeBack = await appendHistory(path, [entry(1, Action.replaced, 'k1'), entry(1, Action.rotatedNew, 'k2')]);
      expect((await readFile(path)).length).to.be.above(before.length);
      await takeBack();
      expect((await readFile(path)).equals(before)).to.equal(true);
      await takeBackFirst();
      expect(existsSync(path)).to.equal(false);
    });

    it('closes the file after appending and after taking entries back', async () => {
      const path = join(dir, 'h');
      await appendHistory(path, [entry(0, Action.generated, 'k1')]);
      const takeBack = await appendHistory(path, [entry(1, Action.generated, 'k2')]);
      expect(descriptorsInto(dir), 'after the append').to.deep.equal([]);
      await takeBack();
      expect(descriptorsInto(dir), 'after taking back').to.deep.equal([]);
    });

    it('takes entries back without failing when someone removed the history meanwhile', async () => {
      const path = join(dir, 'h');
      const takeBack = await appendHistory(path, [entry(0, Action.generated, 'k1')]);
      await rm(path);
      await takeBack();
      expect(existsSync(path)).to.equal(false);
    });

    it('takes a write that fails half way (a full disk) back out and throws its error (as root: a 64 KiB tmpfs)', async function () {
      if (process.getuid?.() !== 0) this.skip(); // pending: mounting a small file system needs root
      const mount = join(dir, 'full');
      await mkdir(mount);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]).status !== 0) this.skip();
      try {
        const path = join(mount, 'h');
        await appendHistory(path, [entry(0, Action.generated, 'k1')]);
        const before = await readFile(path);
        // Fill the rest of the file system, then append more than fits.
        await writeFile(join(mount, 'filler'), Buffer.alloc(64 * 1024)).catch(() => undefined);
        const many = Array.from({ length: 2000 }, (_, i) => entry(i, Action.generated, `key-${i}-${'x'.repeat(40)}`));
        const err = await appendHistory(path, many).then(() => undefined, (e: NodeJS.ErrnoException) => e);
        expect(err?.code).to.equal('ENOSPC');
        expect((await readFile(path)).equals(before), 'the history as it was').to.equal(true);
      } finally {
        spawnSync('umount', [mount]);
      }
    });

    it('serialises many concurrent appends into whole lines', async () => {
      const path = join(dir, 'h');
      await Promise.all(Array.from({ length: 50 }, (_, i) => appendHistory(path, [entry(i, Action.generated, `key-${i}`)])));
      const { entries, malformed } = parseHistory(await readFile(path, 'utf8'));
      expect(malformed).to.equal(0);
      expect(new Set(entries.map((e) => e.key)).size).to.equal(50);
    });
  });
});
