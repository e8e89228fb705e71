import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmod, chown, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { directoryDigest } from '../core/helpers.js';
import { requireBuild, runCli, workDir } from './processes.js';

const NOBODY = 65534;

describe('manage-key on a directory it cannot write', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  before(requireBuild);
  beforeEach(async () => ({ dir, cleanup } = await workDir('manage-key-ro-')));
  afterEach(async () => {
    await chmod(join(dir, 'api'), 0o700).catch(() => undefined);
    await cleanup();
  });

  it('fails with one clear line and changes nothing (chmod 0500; as root, run as an unprivileged user)', async function () {
    const api = join(dir, 'api');
    expect((await runCli(['generate'], { cwd: dir })).code).to.equal(0);
    // chmod does not stop root, so as root the CLI runs as "nobody" over files that nobody owns.
    const asRoot = process.getuid?.() === 0;
    const spawn = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
    if (asRoot) {
      for (const path of [dir, api, join(api, '.api_key'), join(api, '.api_key_history')]) await chown(path, NOBODY, NOBODY);
    }
    await chmod(api, 0o500);
    // Prove the directory really is read-only for that user before trusting the result.
    const probe = spawnSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(join(api, 'probe'))}, 'x')`], spawn);
    if (probe.status === 0) this.skip(); // the directory stays writable (e.g. a file system ignoring modes)
    const before = await directoryDigest(api);
    for (const args of [['rotate'], ['rotate', '--grace', '10m'], ['generate', '--force']]) {
      const r = await runCli(args, { cwd: dir, spawn });
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr).to.match(/^manage-key: cannot (lock|write) [^\n]*permission denied \(EACCES\)\n$/);
      expect(r.stdout).to.equal('');
    }
    expect(await directoryDigest(api)).to.equal(before);
    // Reading still works.
    expect((await runCli(['show'], { cwd: dir, spawn })).code).to.equal(0);
  });

  it('fails with one clear line when a directory on the key file\'s path is a file', async () => {
    await rmdir(join(dir, 'api'));
    await writeFile(join(dir, 'api'), 'not a directory\n');
    for (const args of [['generate'], ['rotate'], ['show']]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr).to.match(/^manage-key: [^\n]+\n$/);
    }
    const generated = await runCli(['generate'], { cwd: dir });
    expect(generated.stderr).to.include('in the way');
    expect(await readFile(join(dir, 'api'), 'utf8')).to.equal('not a directory\n');
  });
});
