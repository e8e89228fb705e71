import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Action, parseHistory } from '../../src/core/history.js';
import type { HistoryEntry } from '../../src/core/history.js';
import { appendHistory, readHistory } from '../../src/core/history-file.js';
import { tempDir } from './helpers.js';

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

    it('serialises many concurrent appends into whole lines', async () => {
      const path = join(dir, 'h');
      await Promise.all(Array.from({ length: 50 }, (_, i) => appendHistory(path, [entry(i, Action.generated, `key-${i}`)])));
      const { entries, malformed } = parseHistory(await readFile(path, 'utf8'));
      expect(malformed).to.equal(0);
      expect(new Set(entries.map((e) => e.key)).size).to.equal(50);
    });
  });
});
