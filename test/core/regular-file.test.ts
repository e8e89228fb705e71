import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chown, constants, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyFileError } from '../../src/core/errors.js';
import { FileReads, openRegular, readFlags } from '../../src/core/regular-file.js';
import { readKeyFile } from '../../src/core/key-file.js';
import { rejectionCode, tempDir } from './helpers.js';

const KEY = 'qwk_0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

describe('regular-file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  // Regression: opening a FIFO waited for a writer forever (and kept the process from exiting).
  it('refuses a FIFO at once with KEY_NOT_REGULAR instead of waiting for a writer', async function () {
    if (process.platform === 'win32') this.skip();
    const fifo = join(dir, 'k');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    expect(await rejectionCode(readKeyFile(fifo))).to.equal('KEY_NOT_REGULAR');
    expect(Date.now() - started).to.be.below(1000);
  });

  it('reads through symlinks (a Kubernetes Secret volume is links all the way down)', async () => {
    await mkdir(join(dir, '..2026_01_01'));
    await writeFile(join(dir, '..2026_01_01', 'k'), KEY + '\n');
    await symlink('..2026_01_01', join(dir, '..data'));
    await symlink('..data/k', join(dir, 'k'));
    expect((await readKeyFile(join(dir, 'k'))) === KEY).to.equal(true);
  });

  it('refuses a symlink only when asked not to follow one', async () => {
    await writeFile(join(dir, 'target'), KEY);
    await symlink('target', join(dir, 'link'));
    const reads = new FileReads();
    expect((await reads.read(join(dir, 'link'), { maxBytes: 100 })).bytes.toString()).to.equal(KEY);
    expect(await rejectionCode(reads.read(join(dir, 'link'), { maxBytes: 100, noFollow: true }))).to.equal('KEY_NOT_REGULAR');
  });

  it('says what the file is instead: a FIFO, a directory, a symbolic link', async function () {
    const reads = new FileReads();
    const message = async (path: string, noFollow = false) => (await reads.read(path, { maxBytes: 10, noFollow }).catch((err: Error) => err)) as Error;
    await mkdir(join(dir, 'd'));
    expect((await message(join(dir, 'd'))).message).to.equal(`${join(dir, 'd')} is a directory, not a regular file; only regular files are read`);
    await writeFile(join(dir, 'f'), 'x');
    await symlink(join(dir, 'f'), join(dir, 'link'));
    const link = await message(join(dir, 'link'), true);
    expect(link.message).to.equal(`${join(dir, 'link')} is a symbolic link, not a regular file; only regular files are read`);
    expect(link.cause).to.have.property('code', 'ELOOP');
    if (spawnSync('mkfifo', [join(dir, 'fifo')]).status !== 0) this.skip();
    expect((await message(join(dir, 'fifo'))).message).to.equal(`${join(dir, 'fifo')} is a FIFO, not a regular file; only regular files are read`);
  });

  it('follows symlinks unless asked not to', () => {
    expect(readFlags()).to.equal(readFlags(false));
    expect(readFlags(true)).to.not.equal(readFlags(false));
  });

  it('reads at most maxBytes, from the start or from the end, and gives the size', async () => {
    await writeFile(join(dir, 'f'), 'abcdefghij');
    const reads = new FileReads();
    expect(await reads.read(join(dir, 'f'), { maxBytes: 4 })).to.deep.include({ size: 10 });
    expect((await reads.read(join(dir, 'f'), { maxBytes: 4 })).bytes.toString()).to.equal('abcde');
    expect((await reads.read(join(dir, 'f'), { maxBytes: 4, fromEnd: true })).bytes.toString()).to.equal('ghij');
  });

  it('sizes a read by the file with fitToSize, and still reads one byte past a limit it exceeds', async () => {
    await writeFile(join(dir, 'f'), 'abcdefghij');
    const reads = new FileReads();
    expect((await reads.read(join(dir, 'f'), { maxBytes: 1_000_000, fitToSize: true })).bytes.toString()).to.equal('abcdefghij');
    expect((await reads.read(join(dir, 'f'), { maxBytes: 4, fitToSize: true })).bytes.toString()).to.equal('abcde');
  });

  it('runs an operation on a regular file it opened, and closes it after', async () => {
    await writeFile(join(dir, 'f'), 'abc');
    const reads = new FileReads();
    let kept: FileHandle | undefined;
    const size = await reads.withFile(join(dir, 'f'), async (handle) => {
      kept = handle;
      return (await handle.stat()).size;
    });
    expect(size).to.equal(3);
    expect(kept!.fd).to.equal(-1);
  });

  describe('owned reads', () => {
    // As root a file is made another user's; otherwise the reader is said to be another user.
    async function othersFile(): Promise<{ path: string; reader: number; owner: number }> {
      const path = join(dir, 'k');
      await writeFile(path, `${KEY}\n`, { mode: 0o600 });
      const me = process.geteuid!();
      if (me !== 0) return { path, reader: me + 1, owner: me };
      await chown(path, 65534, 65534);
      return { path, reader: 0, owner: 65534 };
    }

    it('refuses a file of another user than the reader and root with KEY_UNTRUSTED, naming both', async function () {
      if (process.platform === 'win32') this.skip();
      const { path, reader, owner } = await othersFile();
      const err = await new FileReads({ ownerUid: reader }).read(path, { maxBytes: 100, owned: true }).catch((e: KeyFileError) => e);
      expect((err as KeyFileError).code).to.equal('KEY_UNTRUSTED');
      expect((err as KeyFileError).message).to.equal(`${path} belongs to another user (uid ${owner}); only files of this user (uid ${reader}) or root are read`);
      expect(await rejectionCode(readKeyFile(path, new FileReads({ ownerUid: reader })))).to.equal('KEY_UNTRUSTED');
    });

    it('reads the reader\'s own files and root\'s', async function () {
      if (process.platform === 'win32') this.skip();
      const path = join(dir, 'mine');
      await writeFile(path, 'mine');
      const me = process.geteuid!();
      expect((await new FileReads({ ownerUid: me }).read(path, { maxBytes: 10, owned: true })).bytes.toString()).to.equal('mine');
      const root = (await new FileReads({ ownerUid: me + 1 }).read('/etc/passwd', { maxBytes: 10, owned: true })).bytes;
      expect(root.length).to.equal(11);
    });

    it('looks at the owner only when the read asks and the reader has an owner', async function () {
      if (process.platform === 'win32') this.skip();
      const { path, reader } = await othersFile();
      expect((await new FileReads({ ownerUid: reader }).read(path, { maxBytes: 3 })).bytes.toString()).to.equal('qwk_');
      expect((await new FileReads().read(path, { maxBytes: 3, owned: true })).bytes.toString()).to.equal('qwk_');
    });
  });

  describe('what a refusal says', () => {
    const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (e: KeyFileError) => e);
    const reads = new FileReads();

    it('names a FIFO, a directory and a device as such', async function () {
      if (process.platform === 'win32') this.skip();
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      await mkdir(join(dir, 'd'));
      for (const [path, kind] of [[join(dir, 'fifo'), 'a FIFO'], [join(dir, 'd'), 'a directory'], ['/dev/null', 'a device']]) {
        const err = await refusal(reads.read(path!, { maxBytes: 10 }));
        expect(err?.message).to.equal(`${path} is ${kind}, not a regular file; only regular files are read`);
      }
    });

    it('names a symbolic link it may not follow, keeping the system error as the cause', async function () {
      if (process.platform === 'win32') this.skip();
      await writeFile(join(dir, 'target'), KEY);
      await symlink(join(dir, 'target'), join(dir, 'link'));
      const err = await refusal(reads.read(join(dir, 'link'), { maxBytes: 10, noFollow: true }));
      expect(err?.message).to.equal(`${join(dir, 'link')} is a symbolic link, not a regular file; only regular files are read`);
      expect((err?.cause as NodeJS.ErrnoException).code).to.equal('ELOOP');
    });

    it('names a socket (or a FIFO without a reader) when opening for writing', async function () {
      if (process.platform === 'win32') this.skip();
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const err = await refusal(openRegular(join(dir, 'fifo'), constants.O_WRONLY));
      expect(err?.message).to.equal(`${join(dir, 'fifo')} is a socket or FIFO, not a regular file; only regular files are read`);
      expect((err?.cause as NodeJS.ErrnoException).code).to.equal('ENXIO');
    });

    it('passes any other open error through as it is', async () => {
      const err = await refusal(reads.read(join(dir, 'absent'), { maxBytes: 10 }));
      expect((err as unknown as NodeJS.ErrnoException).code).to.equal('ENOENT');
    });

    it('closes every file it opened, read or refused', async function () {
      if (process.platform === 'win32') this.skip();
      await writeFile(join(dir, 'f'), KEY);
      await mkdir(join(dir, 'd'));
      const before = readdirSync('/proc/self/fd').length;
      await reads.read(join(dir, 'f'), { maxBytes: 10 });
      await refusal(reads.read(join(dir, 'd'), { maxBytes: 10 }));
      expect(readdirSync('/proc/self/fd').length).to.equal(before);
    });
  });

  describe('deadline', () => {
    const stalled = () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      const openFile = (async (...args: Parameters<typeof open>) => {
        calls++;
        await gate;
        return open(...args);
      }) as typeof open;
      return { openFile, release, calls: () => calls };
    };

    it('fails a read that does not finish in time with KEY_READ_TIMEOUT', async () => {
      await writeFile(join(dir, 'k'), KEY);
      const { openFile, release } = stalled();
      const reads = new FileReads({ timeoutMs: 50, openFile });
      const started = Date.now();
      const err = await readKeyFile(join(dir, 'k'), reads).catch((e: KeyFileError) => e);
      expect(Date.now() - started).to.be.within(40, 1000);
      release();
      expect((err as KeyFileError).code).to.equal('KEY_READ_TIMEOUT');
      expect((err as KeyFileError).message).to.equal(`reading ${join(dir, 'k')} did not finish: no answer within 50 ms`);
    });

    it('starts no second read of a path while one is still stalled, and reads again once it returned', async () => {
      await writeFile(join(dir, 'k'), KEY);
      const { openFile, release, calls } = stalled();
      const reads = new FileReads({ timeoutMs: 50, openFile });
      await rejectionCode(readKeyFile(join(dir, 'k'), reads));
      const started = Date.now();
      const again = await readKeyFile(join(dir, 'k'), reads).catch((e: KeyFileError) => e);
      expect(Date.now() - started, 'failed at once').to.be.below(40);
      expect((again as KeyFileError).message).to.equal(`reading ${join(dir, 'k')} did not finish: an earlier read of it has still not returned`);
      expect(calls()).to.equal(1);
      release();
      for (const deadline = Date.now() + 2000; Date.now() < deadline;) {
        const key = await readKeyFile(join(dir, 'k'), reads).catch(() => undefined);
        if (key !== undefined) return expect(key === KEY).to.equal(true);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error('the path stayed blocked after the stalled read returned');
    });
  });
});
