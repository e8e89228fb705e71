import { expect } from 'chai';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_FILE_MODE, readKeyFile, writeKeyFile } from '../../src/core/key-file.js';
import { rejectionCode, tempDir } from './helpers.js';

const KEY = 'qwk_0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

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

    it('says KEY_UNREADABLE for a directory', async () => {
      await mkdir(join(dir, 'd'));
      expect(await rejectionCode(readKeyFile(join(dir, 'd')))).to.equal('KEY_UNREADABLE');
    });

    it('says KEY_EMPTY for an empty file', async () => {
      await writeFile(join(dir, 'k'), '');
      expect(await rejectionCode(readKeyFile(join(dir, 'k')))).to.equal('KEY_EMPTY');
    });

    it('says KEY_TOO_LARGE for a huge file without reading all of it', async () => {
      await writeFile(join(dir, 'k'), Buffer.alloc(10 * 1024 * 1024, 0x61));
      expect(await rejectionCode(readKeyFile(join(dir, 'k')))).to.equal('KEY_TOO_LARGE');
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
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(dir)).to.deep.equal(['k']);
    });

    it('fails with KEY_WRITE_FAILED when the path cannot be written', async () => {
      await mkdir(join(dir, 'k'));
      expect(await rejectionCode(writeKeyFile(join(dir, 'k'), KEY))).to.equal('KEY_WRITE_FAILED');
    });
  });
});
