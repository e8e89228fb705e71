import { expect } from 'chai';
import { chmod, chown, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFindings, othersCanWrite, ownedByOther, resolveIdentity, untrustedPaths } from '../../src/core/file-trust.js';
import type { FileReads } from '../../src/core/regular-file.js';
import { tempDir } from './helpers.js';

describe('file trust', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async function () {
    if (process.platform === 'win32') this.skip();
    ({ dir, cleanup } = await tempDir());
    dir = await realpath(dir);
    await mkdir(join(dir, 'api'), { mode: 0o700 });
  });
  afterEach(() => cleanup?.());

  const stats = (mode: number, directory = false) => ({ mode, isDirectory: () => directory });

  it('names who besides the owner can write, as the group and other write bits say', () => {
    expect(othersCanWrite(stats(0o100600))).to.equal(undefined);
    expect(othersCanWrite(stats(0o100644))).to.equal(undefined);
    expect(othersCanWrite(stats(0o100660))).to.equal('writable by its group');
    expect(othersCanWrite(stats(0o100666))).to.equal('writable by its group and everyone');
    expect(othersCanWrite(stats(0o40777, true))).to.equal('writable by its group and everyone');
    expect(othersCanWrite(stats(0o41777, true)), 'sticky directory').to.equal(undefined);
    expect(othersCanWrite(stats(0o100602))).to.equal('writable by everyone');
    expect(othersCanWrite(stats(0o101666)), 'sticky, but a file').to.equal('writable by its group and everyone');
  });

  it('names an owner other than the reader and root, and trusts the reader\'s own files and root\'s', () => {
    expect(ownedByOther({ uid: 1000 }, 1000)).to.equal(undefined);
    expect(ownedByOther({ uid: 0 }, 1000), 'root\'s').to.equal(undefined);
    expect(ownedByOther({ uid: 65534 }, 1000)).to.equal('owned by another user (uid 65534), neither this user (uid 1000) nor root');
    expect(ownedByOther({ uid: 1000 }, 0)).to.equal('owned by another user (uid 1000), neither this user (uid 0) nor root');
    expect(ownedByOther({ uid: 65534 }, undefined), 'no uid known').to.equal(undefined);
  });

  // Regression: in a sticky directory (/tmp) anyone may create the key file or the clients file first; only
  // the write bits were looked at, so a file another user planted there counted as trusted.
  it('names a key file, a clients file and a directory that belong to another user', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    const clientsFile = join(dir, 'api', '.api_clients');
    await writeFile(keyFile, 'k', { mode: 0o600 });
    await writeFile(clientsFile, '{}', { mode: 0o600 });
    // As root the files are made another user's; otherwise the reader is said to be another user.
    const me = process.geteuid!();
    let reader = me + 1;
    if (me === 0) {
      reader = 0;
      for (const path of [keyFile, clientsFile, join(dir, 'api')]) await chown(path, 65534, 65534);
    }
    const owner = me === 0 ? 65534 : me;
    const problem = `owned by another user (uid ${owner}), neither this user (uid ${reader}) nor root`;
    expect(await untrustedPaths(keyFile, { uid: reader, clientsFile })).to.deep.equal([
      { path: keyFile, role: 'key file', problem },
      { path: join(dir, 'api'), role: 'directory', problem },
      { path: clientsFile, role: 'clients file', problem },
    ]);
  });

  it('takes the uid it is given, else the process\'s own on POSIX, and none on Windows', () => {
    expect(resolveIdentity({ uid: 1234, platform: 'linux' })).to.deep.equal({ uid: 1234, posix: true });
    expect(resolveIdentity({ platform: 'linux' })).to.deep.equal({ uid: process.geteuid!(), posix: true });
    expect(resolveIdentity({ platform: 'win32' })).to.deep.equal({ uid: undefined, posix: false });
  });

  it('finds nothing on Windows, where owners and modes mean nothing', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    await writeFile(keyFile, 'k', { mode: 0o600 });
    await chmod(keyFile, 0o666);
    expect(await untrustedPaths(keyFile, { platform: 'win32' })).to.deep.equal([]);
    expect(await untrustedPaths(keyFile, { platform: 'linux' })).to.have.length(1);
  });

  it('names a directory others can write before the key file exists', async () => {
    await chmod(join(dir, 'api'), 0o777);
    expect(await untrustedPaths(join(dir, 'api', '.api_key'))).to.deep.equal([
      { path: join(dir, 'api'), role: 'directory', problem: 'writable by its group and everyone' },
    ]);
  });

  it('skips paths that lead nowhere: a symlink loop, a file where a directory should be', async () => {
    await symlink('loop-b', join(dir, 'api', 'loop-a'));
    await symlink('loop-a', join(dir, 'api', 'loop-b'));
    expect(await untrustedPaths(join(dir, 'api', 'loop-a'))).to.deep.equal([]);
    await writeFile(join(dir, 'api', 'file'), 'x', { mode: 0o600 });
    expect(await untrustedPaths(join(dir, 'api', 'file', '.api_key'))).to.deep.equal([]);
  });

  it('fails on any other error (a look that does not finish in time)', async () => {
    const timeout = Object.assign(new Error('reading took too long'), { code: 'KEY_READ_TIMEOUT' });
    const reads = { within: async () => { throw timeout; } } as unknown as FileReads;
    const err = await untrustedPaths(join(dir, 'api', '.api_key'), { reads }).catch((e: unknown) => e);
    expect(err).to.equal(timeout);
  });

  it('finds nothing in a private key directory', async () => {
    await writeFile(join(dir, 'api', '.api_key'), 'k', { mode: 0o600 });
    expect(await untrustedPaths(join(dir, 'api', '.api_key'))).to.deep.equal([]);
  });

  it('names a key file, a history and a directory others can write', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    await writeFile(keyFile, 'k', { mode: 0o600 });
    await writeFile(`${keyFile}_history`, '', { mode: 0o600 });
    await chmod(`${keyFile}_history`, 0o622);
    await chmod(join(dir, 'api'), 0o770);
    const findings = await untrustedPaths(keyFile);
    expect(findings).to.deep.equal([
      { path: join(dir, 'api'), role: 'directory', problem: 'writable by its group' },
      { path: `${keyFile}_history`, role: 'history', problem: 'writable by its group and everyone' },
    ]);
    expect(describeFindings(findings)).to.equal(`directory ${join(dir, 'api')} is writable by its group; `
      + `history ${keyFile}_history is writable by its group and everyone`);
  });

  it('names a clients file others can write, and its directory, when asked about one', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    await mkdir(join(dir, 'clients'), { mode: 0o700 });
    await writeFile(join(dir, 'clients', '.api_clients'), '{}', { mode: 0o600 });
    await chmod(join(dir, 'clients', '.api_clients'), 0o666);
    await chmod(join(dir, 'clients'), 0o777);
    expect(await untrustedPaths(keyFile)).to.deep.equal([]);
    expect(await untrustedPaths(keyFile, { clientsFile: join(dir, 'clients', '.api_clients') })).to.deep.equal([
      { path: join(dir, 'clients', '.api_clients'), role: 'clients file', problem: 'writable by its group and everyone' },
      { path: join(dir, 'clients'), role: 'directory', problem: 'writable by its group and everyone' },
    ]);
  });

  it('names a key file others can write as the key file', async () => {
    const keyFile = join(dir, 'api', '.api_key');
    await writeFile(keyFile, 'k', { mode: 0o600 });
    await chmod(keyFile, 0o620);
    expect(await untrustedPaths(keyFile)).to.deep.equal([{ path: keyFile, role: 'key file', problem: 'writable by its group' }]);
  });

  it('names the key\'s directory even before there is a key file', async () => {
    await chmod(join(dir, 'api'), 0o777);
    expect(await untrustedPaths(join(dir, 'api', '.api_key'))).to.deep.equal([
      { path: join(dir, 'api'), role: 'directory', problem: 'writable by its group and everyone' },
    ]);
  });

  it('checks nothing on Windows, where owners and modes mean nothing', async () => {
    await chmod(join(dir, 'api'), 0o777);
    expect(await untrustedPaths(join(dir, 'api', '.api_key'), { platform: 'win32' })).to.deep.equal([]);
  });

  it('skips paths that lead nowhere (through a file, a symlink loop), and fails on other errors', async () => {
    await writeFile(join(dir, 'file'), '');
    expect(await untrustedPaths(join(dir, 'file', '.api_key'))).to.deep.equal([]);
    await symlink('loop', join(dir, 'api', 'loop'));
    expect(await untrustedPaths(join(dir, 'api', 'loop'))).to.deep.equal([]);
    let failed: unknown;
    await untrustedPaths(join(dir, 'x'.repeat(300))).catch((err: unknown) => (failed = err));
    expect(failed).to.have.property('code', 'ENAMETOOLONG');
  });

  it('follows symlinks to the files and directories they lead to', async () => {
    await mkdir(join(dir, 'shared'), { mode: 0o700 });
    await chmod(join(dir, 'shared'), 0o777);
    await writeFile(join(dir, 'shared', 'key'), 'k', { mode: 0o600 });
    await symlink('../shared/key', join(dir, 'api', '.api_key'));
    expect(await untrustedPaths(join(dir, 'api', '.api_key'))).to.deep.equal([
      { path: join(dir, 'shared'), role: 'directory', problem: 'writable by its group and everyone' },
    ]);
  });
});
