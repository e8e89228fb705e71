import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Action, GRACE_UNTIL, appendHistory, deriveState, formatEntry, formatStamp, historyPathFor, parseHistory, readHistory,
} from '../../src/history.js';
import type { HistoryEntry } from '../../src/history.js';
import { tempDir } from './helpers.js';

const T0 = new Date(2024, 4, 6, 7, 8, 9);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const entry = (seconds: number, action: string, key: string): HistoryEntry => ({ time: at(seconds), action, key });

describe('history', () => {
  it('names the history after the key file', () => {
    expect(historyPathFor('api/.api_key')).to.equal('api/.api_key_history');
  });

  it('formats local time as YYYY-MM-DD HH:MM:SS and lines as date | Action | Key', () => {
    expect(formatStamp(T0)).to.equal('2024-05-06 07:08:09');
    expect(formatEntry(entry(0, Action.generated, 'k1'))).to.equal('2024-05-06 07:08:09 | Generated | k1');
  });

  it('parses what it formats, CRLF included, skipping blank lines and counting malformed ones', () => {
    const text = [
      formatEntry(entry(0, Action.generated, 'k1')),
      '',
      formatEntry(entry(5, Action.replaced, 'k1')) + '\r',
      formatEntry(entry(5, Action.rotatedNew, 'k2')),
      'garbage',
      '2024-05-06 07:08 | Generated | short-stamp',
      '2024-05-06 07:08:09 | Generated | two words',
      formatEntry(entry(5, GRACE_UNTIL + '2024-05-06T05:18:14.000Z', 'k1')),
    ].join('\n');
    const { entries, malformed } = parseHistory(text);
    expect(malformed).to.equal(3);
    expect(entries.map((e) => e.action)).to.deep.equal([Action.generated, Action.replaced, Action.rotatedNew, GRACE_UNTIL + '2024-05-06T05:18:14.000Z']);
    expect(entries[1]!.key).to.equal('k1');
    expect(entries[2]!.time.getTime()).to.equal(at(5).getTime());
  });

  it('counts lines with impossible dates or times as malformed instead of rolling them over', () => {
    const { entries, malformed } = parseHistory([
      '2024-02-30 10:00:00 | Generated | k1',
      '2024-13-01 10:00:00 | Generated | k2',
      '2024-01-01 24:00:00 | Generated | k3',
      '2024-01-01 10:60:00 | Generated | k4',
      '2024-02-29 23:59:59 | Generated | k5',
    ].join('\n'));
    expect(malformed).to.equal(4);
    expect(entries.map((e) => e.key)).to.deep.equal(['k5']);
  });

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

  describe('deriveState', () => {
    it('is empty for no entries', () => {
      const state = deriveState([]);
      expect(state.current).to.equal(undefined);
      expect(state.previous).to.equal(undefined);
      expect(state.revoked.size).to.equal(0);
    });

    it('takes the current key from the latest Generated or Rotated (new)', () => {
      const state = deriveState([
        entry(0, Action.generated, 'k1'),
        entry(5, Action.replaced, 'k1'),
        entry(5, Action.rotatedNew, 'k2'),
        entry(9, Action.replaced, 'k2'),
        entry(9, Action.rotatedNew, 'k3'),
      ]);
      expect(state.current).to.deep.equal({ key: 'k3', since: at(9) });
      expect(state.previous).to.deep.equal({ key: 'k2', replacedAt: at(9), revoked: false });
    });

    it('records a rotation\'s own window from its Grace until line', () => {
      const until = new Date(at(5).getTime() + 600_000);
      const state = deriveState([
        entry(0, Action.generated, 'k1'),
        entry(5, Action.replaced, 'k1'),
        entry(5, Action.rotatedNew, 'k2'),
        entry(5, GRACE_UNTIL + until.toISOString(), 'k1'),
      ]);
      expect(state.previous?.graceUntil?.getTime()).to.equal(until.getTime());
    });

    it('ignores a Grace until line for a key that is not the previous one, or with a bad date', () => {
      const state = deriveState([
        entry(0, Action.generated, 'k1'),
        entry(5, Action.replaced, 'k1'),
        entry(5, Action.rotatedNew, 'k2'),
        entry(5, GRACE_UNTIL + '2030-01-01T00:00:00.000Z', 'k0'),
        entry(5, GRACE_UNTIL + 'not-a-date', 'k1'),
      ]);
      expect(state.previous?.graceUntil).to.equal(undefined);
    });

    it('marks the previous key revoked by a Revoked line', () => {
      const state = deriveState([
        entry(0, Action.generated, 'k1'),
        entry(5, Action.replaced, 'k1'),
        entry(5, Action.rotatedNew, 'k2'),
        entry(5, Action.revoked, 'k1'),
      ]);
      expect(state.previous?.revoked).to.equal(true);
      expect(state.revoked.has('k1')).to.equal(true);
      expect(state.current?.key).to.equal('k2');
    });

    it('keeps the Revoked and Grace lines from changing the current key', () => {
      const state = deriveState([
        entry(0, Action.generated, 'k1'),
        entry(5, Action.revoked, 'k1'),
        entry(6, GRACE_UNTIL + '2030-01-01T00:00:00.000Z', 'k1'),
      ]);
      expect(state.current?.key).to.equal('k1');
      expect(state.previous).to.equal(undefined);
    });

    it('starts afresh on a (forced) Generated: no previous key keeps a window', () => {
      const state = deriveState([
        entry(0, Action.generated, 'k1'),
        entry(5, Action.replaced, 'k1'),
        entry(5, Action.rotatedNew, 'k2'),
        entry(9, Action.generated, 'k3'),
      ]);
      expect(state.current?.key).to.equal('k3');
      expect(state.previous).to.equal(undefined);
    });

    it('falls back to the current key when a Rotated (new) has no Rotated (replaced) before it', () => {
      const state = deriveState([entry(0, Action.generated, 'k1'), entry(5, Action.rotatedNew, 'k2')]);
      expect(state.previous?.key).to.equal('k1');
    });

    it('has no previous key when a rotation "replaces" a key with itself', () => {
      const state = deriveState([entry(0, Action.generated, 'k1'), entry(5, Action.replaced, 'k1'), entry(5, Action.rotatedNew, 'k1')]);
      expect(state.previous).to.equal(undefined);
    });
  });
});
