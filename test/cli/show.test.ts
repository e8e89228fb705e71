import { expect } from 'chai';
import { join } from 'node:path';
import { DEVELOPMENT_KEY, generateKey } from '../../src/core/key.js';
import { writeKeyFile } from '../../src/core/key-file.js';
import { requireBuild, runCli, workDir } from './processes.js';

// `show` prints the key a server started in the same place and environment would use: the key file,
// else QWEN_API_KEY, else with NODE_ENV=development the development key. stdout holds only that key.
describe('manage-key show: the key the server would use', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  before(requireBuild);
  beforeEach(async () => ({ dir, cleanup } = await workDir('manage-key-show-')));
  afterEach(() => cleanup());

  it('with NODE_ENV=development and no key file: the development key alone on stdout, explained on stderr', async () => {
    const r = await runCli(['show'], { cwd: dir, env: { NODE_ENV: 'development' } });
    expect(r.code).to.equal(0);
    expect(r.stdout === `${DEVELOPMENT_KEY}\n`, 'stdout is the development key and a newline').to.equal(true);
    expect(r.stderr).to.match(/^manage-key: note: no key file at \S+; printed the fixed, insecure development key that a server started with NODE_ENV=development uses .*never use it for anything real.*\n$/);
  });

  it('with a key file, the key file\'s key even with NODE_ENV=development and QWEN_API_KEY', async () => {
    const key = generateKey();
    await writeKeyFile(join(dir, 'api', '.api_key'), key);
    const r = await runCli(['show'], { cwd: dir, env: { NODE_ENV: 'development', QWEN_API_KEY: generateKey() } });
    expect(r.code).to.equal(0);
    expect(r.stdout === `${key}\n`).to.equal(true);
    expect(r.stderr).to.equal('');
  });

  it('with QWEN_API_KEY and no key file: that key on stdout, its source on stderr', async () => {
    const key = generateKey();
    const r = await runCli(['show'], { cwd: dir, env: { QWEN_API_KEY: key, NODE_ENV: 'development' } });
    expect(r.code).to.equal(0);
    expect(r.stdout === `${key}\n`).to.equal(true);
    expect(r.stderr).to.match(/^manage-key: note: no key file at \S+; printed QWEN_API_KEY from the environment.*\n$/);
  });

  it('with an invalid QWEN_API_KEY and no key file: exit 1, nothing on stdout, the value never echoed', async () => {
    const r = await runCli(['show'], { cwd: dir, env: { QWEN_API_KEY: 'two words' } });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^manage-key: no key file at \S+, and QWEN_API_KEY is not a valid key \(KEY_INVALID_CHARS\).*exits 2\n$/);
    expect(r.stderr.includes('two words')).to.equal(false);
  });
});
