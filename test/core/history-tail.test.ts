import { expect } from 'chai';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HISTORY_SCAN_BYTES, readHistoryTail } from '../../src/core/history-tail.js';
import { FileReads } from '../../src/core/regular-file.js';
import { rejectionCode, tempDir } from './helpers.js';
import type { TailCache } from '../../src/core/history-tail.js';

const line = (i: number) => `2024-05-06 07:08:09 | Generated | key-${String(i).padStart(4, '0')}\n`;
const client = (i: number) => `2024-05-06 07:08:09 | Client added (c${i}) | sha256:${String(i).padStart(12, '0')}\n`;

describe('history tail', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('reads a small history whole', async () => {
    await writeFile(join(dir, 'h'), line(1) + line(2));
    expect(await readHistoryTail(join(dir, 'h'))).to.deep.equal({ text: line(1) + line(2), size: line(1).length * 2, truncated: false });
  });

  it('reads a missing history as empty', async () => {
    expect(await readHistoryTail(join(dir, 'none'))).to.deep.equal({ text: '', size: 0, truncated: false });
  });

  it('keeps only whole lines from the end of a larger one', async () => {
    const text = Array.from({ length: 100 }, (_, i) => line(i)).join('');
    await writeFile(join(dir, 'h'), text);
    const tail = await readHistoryTail(join(dir, 'h'), undefined, line(0).length * 10 + 5);
    expect(tail.truncated).to.equal(true);
    expect(tail.size).to.equal(text.length);
    expect(tail.text).to.equal(Array.from({ length: 10 }, (_, i) => line(90 + i)).join(''));
  });

  it('keeps the first line when the window starts exactly at it', async () => {
    await writeFile(join(dir, 'h'), line(1) + line(2) + line(3));
    const tail = await readHistoryTail(join(dir, 'h'), undefined, line(0).length * 2);
    expect(tail.text).to.equal(line(2) + line(3));
  });

  it('reads the end of a sparse file of hundreds of MB without holding it', async () => {
    const path = join(dir, 'h');
    const handle = await open(path, 'w');
    try {
      await handle.truncate(300 * 1024 * 1024);
      await handle.write(`\n${line(7)}`, 300 * 1024 * 1024);
    } finally {
      await handle.close();
    }
    const before = process.memoryUsage().rss;
    const tail = await readHistoryTail(path);
    expect(tail.text).to.equal(line(7));
    expect(tail.truncated).to.equal(true);
    expect(process.memoryUsage().rss - before).to.be.below(20 * 1024 * 1024);
  });

  it('leaves named-key lines out and reads further back for the static key\'s, as if they were not there', async () => {
    const clients = Array.from({ length: 3000 }, (_, i) => client(i)).join('');
    await writeFile(join(dir, 'h'), line(1) + line(2) + clients + line(3) + clients);
    const tail = await readHistoryTail(join(dir, 'h'));
    expect(tail).to.deep.equal({ text: line(1) + line(2) + line(3), size: line(1).length * 3 + clients.length * 2, truncated: false });
  });

  it('counts only the static key\'s lines against the window', async () => {
    const text = Array.from({ length: 100 }, (_, i) => line(i) + client(i)).join('');
    await writeFile(join(dir, 'h'), text);
    const tail = await readHistoryTail(join(dir, 'h'), undefined, line(0).length * 10 + 5);
    expect(tail.truncated).to.equal(true);
    expect(tail.text).to.equal(Array.from({ length: 10 }, (_, i) => line(90 + i)).join(''));
  });

  it('stops reading back after HISTORY_SCAN_BYTES, calling the tail truncated', async () => {
    const clients = client(1).repeat(Math.ceil((HISTORY_SCAN_BYTES + 200_000) / client(1).length));
    await writeFile(join(dir, 'h'), line(1) + clients + line(2));
    const tail = await readHistoryTail(join(dir, 'h'));
    expect(tail.text).to.equal(line(2));
    expect(tail.truncated).to.equal(true);
  });

  it('reads a last line without a newline, and a named-key line as the file\'s first', async () => {
    await writeFile(join(dir, 'h'), client(1) + line(1) + '2024-05-06 07:08:09 | Generated | torn');
    expect((await readHistoryTail(join(dir, 'h'))).text).to.equal(line(1) + '2024-05-06 07:08:09 | Generated | torn');
  });

  it('answers an unchanged file from its cache, and reads again once it changed', async () => {
    const path = join(dir, 'h');
    await writeFile(path, line(1) + client(1).repeat(5000));
    const cache: TailCache = {};
    const first = await readHistoryTail(path, undefined, undefined, cache);
    expect(await readHistoryTail(path, undefined, undefined, cache)).to.equal(first);
    await writeFile(path, line(2) + client(1).repeat(5000));
    expect((await readHistoryTail(path, undefined, undefined, cache)).text).to.equal(line(2));
  });

  it('reads a path through a file as an empty history, and refuses a directory', async () => {
    await writeFile(join(dir, 'file'), '');
    expect(await readHistoryTail(join(dir, 'file', 'h'))).to.deep.equal({ text: '', size: 0, truncated: false });
    await mkdir(join(dir, 'd'));
    expect(await rejectionCode(readHistoryTail(join(dir, 'd')))).to.equal('KEY_NOT_REGULAR');
  });

  it('keeps blank and short lines as they are', async () => {
    await writeFile(join(dir, 'h'), `\nx\n${client(1)}${line(1)}`);
    expect((await readHistoryTail(join(dir, 'h'))).text).to.equal(`\nx\n${line(1)}`);
  });

  it('reads no further back than a line too long to be a named key\'s, once it cannot fit', async () => {
    const path = join(dir, 'h');
    const handle = await open(path, 'w');
    try {
      await handle.truncate(50 * 1024 * 1024);
      await handle.write(`\n${line(7)}`, 50 * 1024 * 1024);
    } finally {
      await handle.close();
    }
    let bytes = 0;
    const counting = (async (...args: Parameters<typeof open>) => {
      const opened = await open(...args);
      const read = opened.read.bind(opened) as (...a: unknown[]) => Promise<{ bytesRead: number }>;
      Object.assign(opened, { read: async (...a: unknown[]) => {
        const result = await read(...a);
        bytes += result.bytesRead;
        return result;
      } });
      return opened;
    }) as typeof open;
    expect((await readHistoryTail(path, new FileReads({ openFile: counting }))).text).to.equal(line(7));
    expect(bytes).to.be.below(3 * 64 * 1024);
  });
});
