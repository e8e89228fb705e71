import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HistoryReader } from '../../src/core/history-reader.js';
import { HISTORY_TAIL_BYTES, readHistoryTail } from '../../src/core/history-tail.js';
import type { FileReads } from '../../src/core/regular-file.js';
import { tempDir } from './helpers.js';

const ROTATION = '2024-05-06 07:08:09 | Rotated (replaced) | k1\n2024-05-06 07:08:09 | Rotated (new) | k2\n';
const SINCE = new Date(2024, 4, 6, 7, 8, 9);

/** File reads that fail with `error` while `failing` is set, and read the real file otherwise. */
function failingReads(real: FileReads, error: () => unknown): { reads: FileReads; failing: { on: boolean } } {
  const failing = { on: false };
  const reads = {
    read: (path: string, options: never) => (failing.on ? Promise.reject(error()) : real.read(path, options)),
    withFile: (path: string, use: never) => (failing.on ? Promise.reject(error()) : real.withFile(path, use)),
  } as unknown as FileReads;
  return { reads, failing };
}

describe('history reader: reading, failures and the tail', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let path: string;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    path = join(dir, 'h');
  });
  afterEach(() => cleanup());

  it('reads a missing history as empty, reporting nothing', async () => {
    const problems: string[] = [];
    const reader = new HistoryReader(path, (p) => problems.push(p));
    const { state, changed } = await reader.read();
    expect([state.current, state.previous, state.revoked.size, changed]).to.deep.equal([undefined, undefined, 0, true]);
    expect((await reader.read()).changed).to.equal(false);
    expect(problems).to.deep.equal([]);
  });

  it('derives the state, and says whether the text changed since the last read', async () => {
    const reader = new HistoryReader(path, () => undefined);
    await writeFile(path, ROTATION);
    const first = await reader.read();
    expect(first.changed).to.equal(true);
    expect(first.state.current).to.deep.equal({ key: 'k2', since: SINCE });
    // A first rotation of a key written by hand: the whole file is read, so k1 is believed.
    expect(first.state.previous).to.deep.equal({ key: 'k1', replacedAt: SINCE, revoked: false });
    expect((await reader.read()).changed).to.equal(false);
    await writeFile(path, ROTATION + '2024-05-06 07:08:10 | Revoked | k1\n');
    const third = await reader.read();
    expect(third.changed).to.equal(true);
    expect(third.state.previous?.revoked).to.equal(true);
  });

  it('sees a history that grew past the tail as changed even when the tail reads the same', async () => {
    const reader = new HistoryReader(path, () => undefined);
    await writeFile(path, ROTATION);
    expect((await reader.read()).state.previous?.key).to.equal('k1');
    // Same last lines, but now the file starts before the window: k1's rotation may not be the first.
    await writeFile(path, 'x'.repeat(HISTORY_TAIL_BYTES + 10) + '\n' + ROTATION);
    const { state, changed } = await reader.read();
    expect(changed).to.equal(true);
    expect(state.current?.key).to.equal('k2');
    expect(state.previous).to.equal(undefined);
  });

  it('reads an unreadable history as empty, telling onFailure every time and onProblem once per reason', async () => {
    let next: unknown = Object.assign(new Error('denied'), { code: 'EACCES' });
    const { reads, failing } = failingReads(new (await import('../../src/core/regular-file.js')).FileReads(), () => next);
    const problems: string[] = [];
    const failures: string[] = [];
    const reader = new HistoryReader(path, (p) => problems.push(p), { reads, onFailure: (p) => failures.push(p) });
    await writeFile(path, ROTATION);
    expect((await reader.read()).state.current?.key).to.equal('k2');
    failing.on = true;
    const failed = await reader.read();
    expect([failed.changed, failed.state.current]).to.deep.equal([true, undefined]);
    expect((await reader.read()).changed).to.equal(false);
    next = new Error('not a system error');
    await reader.read();
    failing.on = false;
    await reader.read();
    failing.on = true;
    next = Object.assign(new Error('denied'), { code: 'EACCES' });
    await reader.read();
    expect(failures).to.deep.equal(['EACCES', 'EACCES', 'UNKNOWN', 'EACCES']);
    expect(problems).to.deep.equal(['EACCES', 'UNKNOWN', 'EACCES']);
  });

  it('sees nothing new when a missing history turns unreadable: both read as empty and whole', async () => {
    const { reads, failing } = failingReads(new (await import('../../src/core/regular-file.js')).FileReads(), () => Object.assign(new Error('denied'), { code: 'EACCES' }));
    const failures: string[] = [];
    const reader = new HistoryReader(path, () => undefined, { reads, onFailure: (p) => failures.push(p) });
    expect((await reader.read()).changed).to.equal(true);
    failing.on = true;
    const { state, changed } = await reader.read();
    expect([changed, state.current, failures]).to.deep.equal([false, undefined, ['EACCES']]);
  });

  it('names a history that is not a regular file HISTORY_NOT_REGULAR, and reads it as empty', async function () {
    if (process.platform === 'win32') this.skip();
    execFileSync('mkfifo', [path]);
    const problems: string[] = [];
    const { state } = await new HistoryReader(path, (p) => problems.push(p)).read();
    expect(problems).to.deep.equal(['HISTORY_NOT_REGULAR']);
    expect(state.current).to.equal(undefined);
  });

  describe('readHistoryTail', () => {
    it('reads a small file whole', async () => {
      await writeFile(path, ROTATION);
      expect(await readHistoryTail(path)).to.deep.equal({ text: ROTATION, size: ROTATION.length, truncated: false });
    });

    it('reads a missing file as empty', async () => {
      expect(await readHistoryTail(join(dir, 'none'))).to.deep.equal({ text: '', size: 0, truncated: false });
    });

    it('keeps only the complete lines within the window of a bigger file', async () => {
      await writeFile(path, 'first line\nsecond line\nthird\n');
      expect(await readHistoryTail(path, undefined, 14)).to.deep.equal({ text: 'third\n', size: 29, truncated: true });
    });

    it('reads a window without any line break as empty', async () => {
      await writeFile(path, 'x'.repeat(100));
      expect(await readHistoryTail(path, undefined, 10)).to.deep.equal({ text: '', size: 100, truncated: true });
    });

    it('fails on anything but a missing file', async function () {
      if (process.platform === 'win32') this.skip();
      execFileSync('mkfifo', [path]);
      const err = await readHistoryTail(path).then(() => undefined, (e: { code?: string }) => e);
      expect(err?.code).to.equal('KEY_NOT_REGULAR');
    });
  });
});
