import { expect } from 'chai';
import { chmod, chown, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from '../../src/core/atomic-write.js';
import { KeyFileError } from '../../src/core/errors.js';
import { SECRET_FILE_MODE, readKeyFile, writeKeyFile } from '../../src/core/key-file.js';
import type { FileReads } from '../../src/core/regular-file.js';
import { descriptorsInto, rejectionCode, tempDir } from './helpers.js';

const KEY = 'qwk_0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

/** A Node system error with `code`. */
const errno = (code: string, message = code): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

/** What `promise` rejected with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<KeyFileError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(KeyFileError);
    return err as KeyFileError;
  }
  throw new Error('expected a rejection');
}

describe('key-file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  describe('readKeyFile', () => {
    const encodings: Array<[string, Buffer]> = [
      ['UTF-8 + LF', Buffer.from(KEY + '\n')],
      ['UTF-8 BOM + CRLF', Buffer.from('\ufeff' + KEY + '\r\n')],
      ['UTF-16 LE BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(KEY + '\r\n', 'utf16le')])],
      ['UTF-16 BE BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(KEY + '\r\n', 'utf16le').swap16()])],
    ];
    for (const [name, bytes] of encodings) {
      it(`reads a ${name} file`, async () => {
        await writeFile(join(dir, 'k'), bytes);
        expect((await readKeyFile(join(dir, 'k'))) === KEY).to.equal(true);
      });
    }

    it('says KEY_MISSING for a missing file', async () => {
      expect(await rejectionCode(readKeyFile(join(dir, 'absent')))).to.equal('KEY_MISSING');
    });

    it('says KEY_MISSING when a directory on the path is a file', async () => {
      await writeFile(join(dir, 'file'), 'x');
      expect(await rejectionCode(readKeyFile(join(dir, 'file', 'k')))).to.equal('KEY_MISSING');
    });

    it('says what is missing, keeping the system error as the cause', async () => {
      const err = await readKeyFile(join(dir, 'none')).catch((e: KeyFileError) => e);
      expect([(err as KeyFileError).code, (err as Error).message]).to.deep.equal(['KEY_MISSING', `key file ${join(dir, 'none')} does not exist`]);
      expect((err as Error).cause).to.have.property('code', 'ENOENT');
    });

    it('says KEY_UNREADABLE for any other failure to open it, with the system error as the cause', async () => {
      const path = join(dir, 'x'.repeat(300));
      const err = (await readKeyFile(path).catch((e: KeyFileError) => e)) as KeyFileError;
      expect(err.code).to.equal('KEY_UNREADABLE');
      expect(err.message).to.match(new RegExp(`^key file ${dir}/x+ cannot be read: ENAMETOOLONG`));
      expect(err.cause).to.have.property('code', 'ENAMETOOLONG');
    });

    it('says KEY_NOT_REGULAR for a directory', async () => {
      await mkdir(join(dir, 'd'));
      expect(await rejectionCode(readKeyFile(join(dir, 'd')))).to.equal('KEY_NOT_REGULAR');
    });

    it('says KEY_EMPTY for an empty file', async () => {
      await writeFile(join(dir, 'k'), '');
      expect(await rejectionCode(readKeyFile(join(dir, 'k')))).to.equal('KEY_EMPTY');
    });

    it('says KEY_TOO_LARGE for a huge file without reading all of it', async () => {
      await writeFile(join(dir, 'k'), Buffer.alloc(10 * 1024 * 1024, 0x61));
      expect(await rejectionCode(readKeyFile(join(dir, 'k')))).to.equal('KEY_TOO_LARGE');
    });

    it('says which file is missing, keeping the system error as the cause', async () => {
      const path = join(dir, 'absent');
      const err = await rejection(readKeyFile(path));
      expect(err.message).to.equal(`key file ${path} does not exist`);
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
    });

    it('says KEY_UNREADABLE, not KEY_MISSING, for any other read error, with the cause', async () => {
      const cause = errno('EACCES', 'permission denied');
      const reads = { read: async () => { throw cause; } } as unknown as FileReads;
      const err = await rejection(readKeyFile('/x/k', reads));
      expect(err.code).to.equal('KEY_UNREADABLE');
      expect(err.message).to.equal('key file /x/k cannot be read: permission denied');
      expect(err.cause).to.equal(cause);
    });

    it('says KEY_INVALID_CHARS for two keys on two lines', async () => {
      await writeFile(join(dir, 'k'), `${KEY}\n${KEY}\n`);
      expect(await rejectionCode(readKeyFile(join(dir, 'k')))).to.equal('KEY_INVALID_CHARS');
    });
  });

  describe('writeKeyFile', () => {
    it('creates the file with mode 0600 holding the key and a newline', async () => {
      const path = join(dir, 'k');
      await writeKeyFile(path, KEY);
      expect((await stat(path)).mode & 0o777).to.equal(SECRET_FILE_MODE);
      expect((await readFile(path, 'utf8')) === KEY + '\n').to.equal(true);
    });

    it('replaces an existing, looser file and leaves it 0600', async () => {
      const path = join(dir, 'k');
      await writeFile(path, 'old-key\n');
      await chmod(path, 0o644);
      await writeKeyFile(path, KEY);
      expect((await stat(path)).mode & 0o777).to.equal(SECRET_FILE_MODE);
      expect((await readKeyFile(path)) === KEY).to.equal(true);
    });

    it('leaves no temporary file behind', async () => {
      const path = join(dir, 'k');
      await writeKeyFile(path, KEY);
      await writeKeyFile(path, KEY + 'x');
      expect(await readdir(dir)).to.deep.equal(['k']);
    });

    it('creates the file 0600 whatever the umask', async function () {
      if (process.platform === 'win32') this.skip();
      const saved = process.umask(0o277);
      try {
        await writeKeyFile(join(dir, 'k'), KEY);
      } finally {
        process.umask(saved);
      }
      expect(((await stat(join(dir, 'k'))).mode & 0o777).toString(8)).to.equal('600');
    });

    // Regression: write-file-atomic opened a predictable temporary name without O_EXCL, following a planted symlink.
    it('never writes through a symlink planted at its temporary name', async () => {
      const path = join(dir, 'k');
      await writeFile(join(dir, 'victim'), 'untouched\n');
      const fixed = () => Buffer.alloc(8, 7);
      await symlink(join(dir, 'victim'), `${path}.${fixed().toString('hex')}.tmp`);
      const replace: typeof replaceFile = (p, c, m) => replaceFile(p, c, m, fixed);
      expect(await rejectionCode(writeKeyFile(path, KEY, { replace }))).to.equal('KEY_WRITE_FAILED');
      expect(await readFile(join(dir, 'victim'), 'utf8')).to.equal('untouched\n');
    });

    // Regression: the atomic writer gave the new file the old one's owner, who could still read the new key.
    it('gives the new file to the writer, not to the old file\'s owner (as root)', async function () {
      if (process.getuid?.() !== 0) this.skip(); // pending: needs root to chown a file to another user
      const path = join(dir, 'k');
      await writeFile(path, 'old\n');
      await chown(path, 65534, 65534);
      await writeKeyFile(path, KEY);
      expect((await stat(path)).uid).to.equal(0);
    });

    it('rewrites in place (0600) when the rename is impossible (EXDEV, EBUSY), and says so', async () => {
      for (const code of ['EXDEV', 'EBUSY']) {
        const path = join(dir, `k-${code}`);
        await writeFile(path, 'old-key-that-is-longer-than-the-new-one-by-far-000000\n', { mode: 0o644 });
        const notes: string[] = [];
        const replace = async () => {
          throw Object.assign(new Error(code), { code });
        };
        await writeKeyFile(path, KEY, { replace, platform: 'linux', onFallback: (n) => notes.push(n) });
        expect((await readFile(path, 'utf8')) === KEY + '\n').to.equal(true);
        if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).to.equal(SECRET_FILE_MODE);
        expect(notes).to.deep.equal([`atomic rename impossible (${code}); rewrote the key file in place`]);
      }
    });

    it('retries a rename that races another process\'s handle on Windows (EPERM, EBUSY, EACCES)', async () => {
      let calls = 0;
      const replace: typeof replaceFile = async (p, c, m) => {
        if (++calls <= 3) throw Object.assign(new Error('busy'), { code: ['EPERM', 'EBUSY', 'EACCES'][calls - 1] });
        return replaceFile(p, c, m);
      };
      const started = Date.now();
      await writeKeyFile(join(dir, 'k'), KEY, { replace, platform: 'win32' });
      expect(Date.now() - started, 'waited 10 + 20 + 40 ms between the tries').to.be.at.least(70);
      expect(calls).to.equal(4);
      expect((await readKeyFile(join(dir, 'k'))) === KEY).to.equal(true);
    });

    it('rewrites in place without being asked to say so', async () => {
      const path = join(dir, 'k');
      await writeFile(path, 'old\n');
      await writeKeyFile(path, KEY, { replace: async () => { throw Object.assign(new Error('x'), { code: 'EXDEV' }); }, platform: 'linux' });
      expect((await readKeyFile(path)) === KEY).to.equal(true);
    });

    it('never rewrites in place through a symlink', async function () {
      if (process.platform === 'win32') this.skip();
      await writeFile(join(dir, 'victim'), 'untouched\n');
      await symlink(join(dir, 'victim'), join(dir, 'k'));
      let err: KeyFileError | undefined;
      await writeKeyFile(join(dir, 'k'), KEY, { replace: async () => { throw Object.assign(new Error('x'), { code: 'EXDEV' }); }, platform: 'linux' })
        .catch((e: KeyFileError) => (err = e));
      expect([err?.code, err?.message.startsWith(`cannot rewrite key file ${join(dir, 'k')}: `)]).to.deep.equal(['KEY_WRITE_FAILED', true]);
      expect(err?.cause).to.be.instanceOf(KeyFileError);
      expect(await readFile(join(dir, 'victim'), 'utf8')).to.equal('untouched\n');
    });

    it('fails with KEY_WRITE_FAILED when the path cannot be written, naming it, with the cause', async () => {
      const path = join(dir, 'k');
      await mkdir(path);
      const err = await rejection(writeKeyFile(path, KEY));
      expect(err.code).to.equal('KEY_WRITE_FAILED');
      expect(err.message).to.match(new RegExp(`^cannot write key file ${path}: EISDIR`));
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('EISDIR');
    });

    it('on Windows, backs off 10, 20, 40 ... 1280 ms between tries and gives up after the ninth', async () => {
      const waits: number[] = [];
      let calls = 0;
      const replace: typeof replaceFile = async () => { calls++; throw errno('EPERM'); };
      const err = await rejection(writeKeyFile(join(dir, 'k'), KEY, { replace, platform: 'win32', sleep: async (ms) => { waits.push(ms); } }));
      expect(err.code).to.equal('KEY_WRITE_FAILED');
      expect(calls).to.equal(9);
      expect(waits).to.deep.equal([10, 20, 40, 80, 160, 320, 640, 1280]);
    });

    it('retries nothing but EPERM, EBUSY and EACCES on Windows, and nothing at all elsewhere', async () => {
      for (const [platform, code] of [['win32', 'ENOSPC'], ['linux', 'EPERM'], ['linux', 'EACCES'], ['darwin', 'EPERM']] as const) {
        let calls = 0;
        const replace: typeof replaceFile = async () => { calls++; throw errno(code); };
        const err = await rejection(writeKeyFile(join(dir, 'k'), KEY, { replace, platform, sleep: async () => {} }));
        expect([err.code, calls], `${platform} ${code}`).to.deep.equal(['KEY_WRITE_FAILED', 1]);
      }
    });

    it('on Windows an EBUSY rename is retried, never rewritten in place', async () => {
      const path = join(dir, 'k');
      await writeFile(path, 'old-key\n');
      let calls = 0;
      const notes: string[] = [];
      const replace: typeof replaceFile = async (p, c, m) => {
        if (++calls === 1) throw errno('EBUSY');
        return replaceFile(p, c, m);
      };
      await writeKeyFile(path, KEY, { replace, platform: 'win32', sleep: async () => {}, onFallback: (n) => notes.push(n) });
      expect(calls).to.equal(2);
      expect(notes).to.deep.equal([]);
      expect((await readFile(path, 'utf8')) === KEY + '\n').to.equal(true);
    });

    it('rewrites in place without anyone to tell, and closes the file', async () => {
      const path = join(dir, 'k');
      await writeFile(path, 'old\n');
      await writeKeyFile(path, KEY, { replace: async () => { throw errno('EXDEV'); }, platform: 'linux' });
      expect((await readFile(path, 'utf8')) === KEY + '\n').to.equal(true);
      expect(descriptorsInto(dir)).to.deep.equal([]);
    });

    it('fails the in-place rewrite with KEY_WRITE_FAILED when the file is gone, naming it', async () => {
      const path = join(dir, 'gone');
      const err = await rejection(writeKeyFile(path, KEY, { replace: async () => { throw errno('EXDEV'); }, platform: 'linux' }));
      expect(err.code).to.equal('KEY_WRITE_FAILED');
      expect(err.message).to.match(new RegExp(`^cannot rewrite key file ${path}: `));
      expect(err.cause).to.be.instanceOf(Error);
    });

    it('never rewrites in place through a symlink at the key file', async () => {
      const path = join(dir, 'k');
      await writeFile(join(dir, 'victim'), 'untouched\n');
      await symlink(join(dir, 'victim'), path);
      const err = await rejection(writeKeyFile(path, KEY, { replace: async () => { throw errno('EXDEV'); }, platform: 'linux' }));
      expect(err.code).to.equal('KEY_WRITE_FAILED');
      expect(await readFile(join(dir, 'victim'), 'utf8')).to.equal('untouched\n');
    });
  });
});
