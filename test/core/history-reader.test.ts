import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HistoryReader } from '../../src/core/history-reader.js';
import { HISTORY_SCAN_BYTES } from '../../src/core/history-tail.js';
import { FileReads } from '../../src/core/regular-file.js';
import { tempDir } from './helpers.js';

const line = (action: string, key: string) => `2024-05-06 07:08:09 | ${action} | ${key}\n`;

describe('history reader', () => {
  let dir: string;
  let path: string;
  let cleanup: () => Promise<void>;
  let problems: string[];
  let failures: string[];
  let reader: HistoryReader;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    path = join(dir, 'h');
    problems = [];
    failures = [];
    reader = new HistoryReader(path, (reason) => problems.push(reason), { onFailure: (reason) => failures.push(reason) });
  });
  afterEach(() => cleanup());

  it('derives the state again only when the text changed, and says whether it did', async () => {
    await writeFile(path, line('Generated', 'k1'));
    const first = await reader.read();
    expect([first.changed, first.state.current?.key]).to.deep.equal([true, 'k1']);
    const again = await reader.read();
    expect(again.changed).to.equal(false);
    expect(again.state, 'the same state, not derived again').to.equal(first.state);
    await writeFile(path, line('Generated', 'k1') + line('Rotated (replaced)', 'k1') + line('Rotated (new)', 'k2'));
    const rotated = await reader.read();
    expect([rotated.changed, rotated.state.current?.key, rotated.state.previous?.key]).to.deep.equal([true, 'k2', 'k1']);
  });

  it('calls it a change when only the history\'s completeness changed (its start now out of reach)', async () => {
    await writeFile(path, line('Generated', 'k1'));
    await reader.read();
    const clients = line('Client added (c)', 'sha256:000000000000').repeat(Math.ceil((HISTORY_SCAN_BYTES + 1024) / 60));
    await writeFile(path, clients + line('Generated', 'k1'));
    const read = await reader.read();
    expect([read.changed, read.state.current?.key]).to.deep.equal([true, 'k1']);
  });

  it('reads an unreadable history as empty, tells onFailure every time and onProblem once per reason', async function () {
    await writeFile(path, line('Generated', 'k1'));
    await reader.read();
    await rm(path);
    if (spawnSync('mkfifo', [path]).status !== 0) this.skip();
    const failed = await reader.read();
    expect([failed.changed, failed.state.current]).to.deep.equal([true, undefined]);
    expect((await reader.read()).changed).to.equal(false);
    expect([problems, failures]).to.deep.equal([['HISTORY_NOT_REGULAR'], ['HISTORY_NOT_REGULAR', 'HISTORY_NOT_REGULAR']]);
  });

  it('takes a failure after an empty history as no change', async function () {
    await writeFile(path, '');
    expect((await reader.read()).changed).to.equal(true);
    await rm(path);
    if (spawnSync('mkfifo', [path]).status !== 0) this.skip();
    expect((await reader.read()).changed).to.equal(false);
  });

  it('names a system error by its code, anything else UNKNOWN, and reports a new reason again', async () => {
    const long = new HistoryReader(join(dir, 'x'.repeat(300)), (reason) => problems.push(reason));
    await long.read();
    const broken = (async () => { throw new Error('not a system error'); }) as unknown as typeof open;
    const odd = new HistoryReader(path, (reason) => problems.push(reason), { reads: new FileReads({ openFile: broken }) });
    await writeFile(path, line('Generated', 'k1'));
    await odd.read();
    expect(problems).to.deep.equal(['ENAMETOOLONG', 'UNKNOWN']);
  });

  it('reads through the FileReads it is given', async () => {
    let opened = 0;
    const counting = (async (...args: Parameters<typeof open>) => {
      opened++;
      return open(...args);
    }) as typeof open;
    await writeFile(path, line('Generated', 'k1'));
    await new HistoryReader(path, () => undefined, { reads: new FileReads({ openFile: counting }) }).read();
    expect(opened).to.equal(1);
  });
});
