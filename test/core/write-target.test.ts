import { expect } from 'chai';
import { chmod, chown, mkdir, realpath, symlink, writeFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTarget } from '../../src/core/write-target.js';
import { rejectionCode, tempDir } from './helpers.js';

/** The uid of `nobody`, for files that belong to another user (tests that need it run as root only). */
export const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

describe('write target', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const me = { uid: process.getuid?.() ?? 0, platform: process.platform };
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    dir = await realpath(dir);
  });
  afterEach(() => cleanup());

  it('allows a new file or a file of its own in a private directory', async () => {
    expect(await writeTarget(join(dir, 'k'), me)).to.deep.equal({ path: join(dir, 'k'), exists: false });
    await writeFile(join(dir, 'k'), 'x');
    expect(await writeTarget(join(dir, 'k'), me)).to.deep.equal({ path: join(dir, 'k'), exists: true });
  });

  it('writes through a symlink that stays inside its directory, to its target', async () => {
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'keys', 'current'), 'x');
    await symlink('keys/current', join(dir, 'k'));
    expect(await writeTarget(join(dir, 'k'), me)).to.deep.equal({ path: join(dir, 'keys', 'current'), exists: true });
  });

  // Regression: rotate overwrote the target of api/.api_key -> /tmp/victim and copied its content into the history.
  it('refuses a symlink leading out of its directory, or to nothing', async () => {
    await mkdir(join(dir, 'api'));
    await writeFile(join(dir, 'victim'), 'x');
    await symlink('../victim', join(dir, 'api', 'k'));
    expect(await rejectionCode(writeTarget(join(dir, 'api', 'k'), me))).to.equal('KEY_UNTRUSTED');
    await symlink('nowhere', join(dir, 'api', 'dangling'));
    expect(await rejectionCode(writeTarget(join(dir, 'api', 'dangling'), me))).to.equal('KEY_UNTRUSTED');
  });

  it('says which symlink it refuses and why: out of its directory (to where), to nothing, in a loop', async () => {
    const api = join(dir, 'api');
    await mkdir(api);
    await mkdir(join(dir, 'other'));
    await writeFile(join(dir, 'other', 'victim'), 'x');
    await symlink('../other/victim', join(api, 'out'));
    await symlink('nowhere', join(api, 'dangling'));
    await symlink('loop-b', join(api, 'loop-a'));
    await symlink('loop-a', join(api, 'loop-b'));
    const message = (name: string) => writeTarget(join(api, name), me).then(() => 'written', (e: Error) => e.message);
    expect(await message('out')).to.equal(`refusing to write ${join(api, 'out')}: it is a symbolic link leading out of its directory (to ${join(dir, 'other', 'victim')})`);
    expect(await message('dangling')).to.equal(`refusing to write ${join(api, 'dangling')}: it is a symbolic link to nothing`);
    expect(await message('loop-a')).to.equal(`refusing to write ${join(api, 'loop-a')}: it is a symbolic link to nothing`);
  });

  it('says why it refuses a directory others can write, and how to fix it', async function () {
    if (process.platform === 'win32') this.skip();
    await mkdir(join(dir, 'open'));
    await chmod(join(dir, 'open'), 0o770);
    const err = await writeTarget(join(dir, 'open', 'k'), me).catch((e: Error) => e);
    expect((err as Error).message).to.equal(`refusing to write ${join(dir, 'open', 'k')}: it is in a directory writable by its group (${join(dir, 'open')}); make it writable by its owner only (chmod go-w)`);
  });

  it('takes a directory owned by root as safe for any user', async function () {
    if (process.platform === 'win32' || !asRoot) this.skip(); // the temporary directory must be root's
    expect(await writeTarget(join(dir, 'k'), { uid: 1234, platform: process.platform })).to.deep.equal({ path: join(dir, 'k'), exists: false });
  });

  it('refuses a directory others can write, unless it is sticky', async function () {
    if (process.platform === 'win32') this.skip();
    await mkdir(join(dir, 'open'));
    await chmod(join(dir, 'open'), 0o777);
    expect(await rejectionCode(writeTarget(join(dir, 'open', 'k'), me))).to.equal('KEY_UNTRUSTED');
    await chmod(join(dir, 'open'), 0o770);
    expect(await rejectionCode(writeTarget(join(dir, 'open', 'k'), me))).to.equal('KEY_UNTRUSTED');
    await chmod(join(dir, 'open'), 0o1777);
    expect((await writeTarget(join(dir, 'open', 'k'), me)).exists).to.equal(false);
  });

  it('refuses a file with other hard links', async function () {
    if (process.platform === 'win32') this.skip();
    await writeFile(join(dir, 'k'), 'x');
    await link(join(dir, 'k'), join(dir, 'other'));
    const err = await writeTarget(join(dir, 'k'), me).catch((e: Error) => e);
    expect((err as Error).message).to.equal(`refusing to write ${join(dir, 'k')}: it has 1 other hard link(s); a write would change them too`);
  });

  describe('files and directories of another user (as root)', () => {
    before(function () {
      if (!asRoot) this.skip(); // pending: needs root to chown files to another user
    });

    // Regression: root's rotate left a key file owned by another user readable by that user.
    it('refuses a file owned by another user, naming its uid', async () => {
      await writeFile(join(dir, 'k'), 'x');
      await chown(join(dir, 'k'), NOBODY, NOBODY);
      const err = await writeTarget(join(dir, 'k'), me).catch((e: Error) => e);
      expect((err as Error).message).to.equal(`refusing to write ${join(dir, 'k')}: it is owned by another user (uid 65534); run manage-key as that user, or remove the file first`);
    });

    it('lets a user write in a directory of their own', async () => {
      await mkdir(join(dir, 'theirs'), { mode: 0o755 });
      await chown(join(dir, 'theirs'), NOBODY, NOBODY);
      expect(await writeTarget(join(dir, 'theirs', 'k'), { uid: NOBODY, platform: process.platform })).to.deep.equal({ path: join(dir, 'theirs', 'k'), exists: false });
    });

    it('refuses a directory owned by another user (not root)', async () => {
      await mkdir(join(dir, 'theirs'), { mode: 0o755 });
      await chown(join(dir, 'theirs'), NOBODY, NOBODY);
      const err = await writeTarget(join(dir, 'theirs', 'k'), me).catch((e: Error) => e);
      expect((err as Error).message).to.equal(`refusing to write ${join(dir, 'theirs', 'k')}: it is in a directory owned by another user (uid 65534), who can replace it`);
    });

    it('checks nothing of owners or modes on Windows, where they mean nothing', async () => {
      await writeFile(join(dir, 'k'), 'x');
      await chown(join(dir, 'k'), NOBODY, NOBODY);
      expect((await writeTarget(join(dir, 'k'), { uid: 0, platform: 'win32' })).exists).to.equal(true);
    });
  });
});
