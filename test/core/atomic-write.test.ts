import { expect } from 'chai';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, replaceFile, writeAll } from '../../src/core/atomic-write.js';
import { descriptorsInto, tempDir } from './helpers.js';

/** A file handle that takes at most `step` bytes per write, recording each call as [offset, length, position]. */
function shortWrites(step: number): { handle: FileHandle; calls: Array<[number, number, number | null]> } {
  const calls: Array<[number, number, number | null]> = [];
  const handle = {
    write: async (_data: Buffer, offset: number, length: number, position: number | null) => {
      calls.push([offset, length, position]);
      return { bytesWritten: Math.min(step, length) };
    },
  } as unknown as FileHandle;
  return { handle, calls };
}

describe('atomic-write', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('replaces the file, leaving no temporary file and no open descriptor', async () => {
    const path = join(dir, 'f');
    await writeFile(path, 'old');
    await replaceFile(path, Buffer.from('new'), 0o600);
    expect(await readFile(path, 'utf8')).to.equal('new');
    expect(await readdir(dir)).to.deep.equal(['f']);
    expect(descriptorsInto(dir)).to.deep.equal([]);
  });

  it('removes its temporary file when the rename fails, and rejects with the rename\'s error', async () => {
    const path = join(dir, 'd');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'x');
    const err = await replaceFile(path, Buffer.from('new'), 0o600).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).to.be.a('string');
    expect(await readdir(dir)).to.deep.equal(['d']);
  });

  it('syncs a directory, closing it, and says when it could not', async () => {
    expect(await fsyncDirectory(dir)).to.equal(true);
    expect(descriptorsInto(dir)).to.deep.equal([]);
    expect(await fsyncDirectory(join(dir, 'absent'))).to.equal(false);
  });

  it('writeAll continues a short write from where it stopped, at the matching file position', async () => {
    const { handle, calls } = shortWrites(4);
    await writeAll(handle, Buffer.from('0123456789'), 100);
    expect(calls).to.deep.equal([[0, 10, 100], [4, 6, 104], [8, 2, 108]]);
  });

  it('writeAll appends at the current position when given none', async () => {
    const { handle, calls } = shortWrites(6);
    await writeAll(handle, Buffer.from('0123456789'), null);
    expect(calls).to.deep.equal([[0, 10, null], [6, 4, null]]);
  });
});
