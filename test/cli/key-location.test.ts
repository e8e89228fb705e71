import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../core/helpers.js';
import { requireBuild, runCli, workDir } from './processes.js';

// Run outside the project, manage-key must not create a stray key, and every command that finds no
// key file says where it looked, in full, and how to point it elsewhere; the exit codes agree.
describe('manage-key in a directory that is not the server\'s', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  before(requireBuild);
  beforeEach(async () => ({ dir, cleanup } = await tempDir('manage-key-elsewhere-')));
  afterEach(() => cleanup());

  it('generate refuses where there is no api/ directory (exit 1) and creates nothing', async () => {
    const r = await runCli(['-Generate'], { cwd: dir });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(`manage-key: there is no api/ directory in ${dir}, so this is not where a server keeps its key (normally the `
      + 'repository root); run generate there, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE), whose directory is then created\n');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('generate --key-file (or QWEN_API_KEY_FILE) names the place, and its directory is created', async () => {
    expect((await runCli(['generate', '--key-file', 'keys/.api_key'], { cwd: dir })).code).to.equal(0);
    expect((await runCli(['generate'], { cwd: dir, env: { QWEN_API_KEY_FILE: join(dir, 'env', '.api_key') } })).code).to.equal(0);
    expect((await readdir(dir)).sort()).to.deep.equal(['env', 'keys']);
  });

  for (const command of ['show', 'rotate', 'history', 'status', 'test']) {
    it(`${command} without a key file: exit 1, the full path it looked at and how to point elsewhere`, async () => {
      const r = await runCli([command], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      const looked = join(dir, 'api', command === 'history' ? '.api_key_history' : '.api_key');
      expect(r.stderr).to.equal(`manage-key: no key ${command === 'history' ? 'history' : 'file'} at ${looked} (the default, api/.api_key under the `
        + 'current directory); run manage-key in the directory the server runs in, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE)\n');
    });
  }

  it('names the option that chose a missing key file, and offers generate where it would run', async () => {
    const flag = await runCli(['show', '--key-file', 'nowhere/.api_key'], { cwd: dir });
    expect(flag.stderr).to.equal(`manage-key: no key file at ${join(dir, 'nowhere', '.api_key')} (from --key-file); check --key-file; `
      + '"manage-key generate" creates a key there\n');
    const { dir: project, cleanup: done } = await workDir('manage-key-project-');
    try {
      const env = await runCli(['rotate'], { cwd: dir, env: { QWEN_API_KEY_FILE: join(project, 'api', '.api_key') } });
      expect(env.code).to.equal(1);
      expect(env.stderr).to.match(/^manage-key: no key file at \S+ \(from QWEN_API_KEY_FILE\); check QWEN_API_KEY_FILE; "manage-key generate" creates a key there\n$/);
    } finally {
      await done();
    }
  });
});
