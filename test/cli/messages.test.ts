import { expect } from 'chai';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../src/cli/commands.js';
import { tempDir } from '../core/helpers.js';

// What manage-key says, line for line, run in process (src/cli/commands.ts with captured output): the
// process tests (show.test.ts, manage-key.test.ts) prove the same program runs as users start it.
const K1 = 'qwk_first-key-0000000000000000000000000000000';
const K2 = 'qwk_second-key-111111111111111111111111111111';
// sha256: + the first 12 hex digits of each key's SHA-256 (sha256sum), written out.
const K1_FINGERPRINT = 'sha256:353c23c9928d';
const NOW = new Date(2024, 6, 1, 9, 0, 0);
const GENERATE_THERE = '; "manage-key generate" creates a key there';
const DEFAULT_ORIGIN = '(the default, api/.api_key under the current directory); run manage-key in the directory the server runs in, '
  + 'or name the key file with --key-file FILE (or QWEN_API_KEY_FILE)';

async function cli(cwd: string, argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd, clock: () => NOW });
  return { code, stdout, stderr };
}

describe('manage-key messages (in process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('manage-key-messages-')));
  afterEach(() => cleanup());
  const api = () => join(dir, 'api');

  describe('show without a key file', () => {
    it('prints QWEN_API_KEY, saying on stderr where it came from', async () => {
      expect(await cli(dir, ['show'], { QWEN_API_KEY: K1 })).to.deep.equal({
        code: 0, stdout: `${K1}\n`,
        stderr: `manage-key: note: no key file at ${join(api(), '.api_key')}; printed QWEN_API_KEY from the environment, the key a server started with it uses\n`,
      });
    });

    it('fails on an invalid QWEN_API_KEY, naming its problem and never its value', async () => {
      expect(await cli(dir, ['show'], { QWEN_API_KEY: 'bad key' })).to.deep.equal({
        code: 1, stdout: '',
        stderr: `manage-key: no key file at ${join(api(), '.api_key')}, and QWEN_API_KEY is not a valid key (KEY_INVALID_CHARS): a server started with it exits 2\n`,
      });
    });

    it('prints the development key with NODE_ENV=development, saying it is public', async () => {
      expect(await cli(dir, ['show'], { NODE_ENV: 'development' })).to.deep.equal({
        code: 0, stdout: 'qwk_development_only_insecure_key_do_not_use\n',
        stderr: `manage-key: note: no key file at ${join(api(), '.api_key')}; printed the fixed, insecure development key that a server `
          + 'started with NODE_ENV=development uses (it is public: never use it for anything real; "manage-key generate" makes a real key)\n',
      });
    });

    it('prefers QWEN_API_KEY to the development key, and the key file to both', async () => {
      expect((await cli(dir, ['show'], { QWEN_API_KEY: K1, NODE_ENV: 'development' })).stdout).to.equal(`${K1}\n`);
      await mkdir(api());
      await writeFile(join(api(), '.api_key'), `${K2}\n`);
      expect(await cli(dir, ['show'], { QWEN_API_KEY: K1, NODE_ENV: 'development' })).to.deep.equal({ code: 0, stdout: `${K2}\n`, stderr: '' });
    });

    it('fails on a key file it cannot read rather than falling back to the environment', async () => {
      await mkdir(join(api(), '.api_key'), { recursive: true });
      const r = await cli(dir, ['show'], { QWEN_API_KEY: K1 });
      expect([r.code, r.stdout]).to.deep.equal([1, '']);
      expect(r.stderr).to.match(/KEY_NOT_REGULAR|is a directory/);
    });

    it('names the path it looked at and what chose it: the default (no api/ here)', async () => {
      expect(await cli(dir, ['show'])).to.deep.equal({ code: 1, stdout: '', stderr: `manage-key: no key file at ${join(api(), '.api_key')} ${DEFAULT_ORIGIN}\n` });
    });

    it('names the path it looked at and what chose it: the default, where generate would run', async () => {
      await mkdir(api());
      expect((await cli(dir, ['show'])).stderr).to.equal(`manage-key: no key file at ${join(api(), '.api_key')} ${DEFAULT_ORIGIN}${GENERATE_THERE}\n`);
    });

    it('names the path it looked at and what chose it: --key-file, QWEN_API_KEY_FILE', async () => {
      expect((await cli(dir, ['show', '--key-file', 'k/k'])).stderr)
        .to.equal(`manage-key: no key file at ${join(dir, 'k', 'k')} (from --key-file); check --key-file${GENERATE_THERE}\n`);
      expect((await cli(dir, ['show'], { QWEN_API_KEY_FILE: 'e/k' })).stderr)
        .to.equal(`manage-key: no key file at ${join(dir, 'e', 'k')} (from QWEN_API_KEY_FILE); check QWEN_API_KEY_FILE${GENERATE_THERE}\n`);
      expect((await cli(dir, ['show'], { QWEN_API_KEY_FILE: '' })).stderr, 'an empty QWEN_API_KEY_FILE is unset')
        .to.equal(`manage-key: no key file at ${join(api(), '.api_key')} ${DEFAULT_ORIGIN}\n`);
    });

    it('takes --key-file over QWEN_API_KEY_FILE', async () => {
      expect((await cli(dir, ['show', '--key-file', 'k/k'], { QWEN_API_KEY_FILE: 'e/k' })).stderr)
        .to.equal(`manage-key: no key file at ${join(dir, 'k', 'k')} (from --key-file); check --key-file${GENERATE_THERE}\n`);
    });
  });

  describe('generate where no server keeps its key', () => {
    it('refuses without api/, saying why and what to do instead', async () => {
      expect(await cli(dir, ['generate'])).to.deep.equal({
        code: 1, stdout: '',
        stderr: `manage-key: there is no api/ directory in ${dir}, so this is not where a server keeps its key (normally the repository root); `
          + 'run generate there, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE), whose directory is then created\n',
      });
    });

    it('refuses when api/ is in the way as a file, with the write\'s own words', async () => {
      await writeFile(api(), 'not a directory');
      const r = await cli(dir, ['generate']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.not.include('there is no api/ directory');
    });
  });

  describe('history', () => {
    it('names the missing history and what chose its key file', async () => {
      await mkdir(api());
      expect(await cli(dir, ['history'])).to.deep.equal({
        code: 1, stdout: '', stderr: `manage-key: no key history at ${join(api(), '.api_key_history')} ${DEFAULT_ORIGIN}${GENERATE_THERE}\n`,
      });
    });

    it('says of a key file without a history only what is known: deleted, or never written, and what rotate does', async () => {
      await mkdir(api());
      await writeFile(join(api(), '.api_key'), `${K1}\n`);
      expect((await cli(dir, ['history'])).stderr).to.equal(`manage-key: no history file at ${join(api(), '.api_key_history')}: it was deleted, `
        + 'or never written (a key file written by hand or by another tool); the next "manage-key rotate" starts a new one there, '
        + 'logging the key file\'s key as the one it replaces\n');
    });

    it('does not claim that a key file written by manage-key was not, once its history is deleted', async () => {
      await mkdir(api());
      await cli(dir, ['generate']);
      await rm(join(api(), '.api_key_history'));
      const r = await cli(dir, ['history']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^manage-key: no history file at \S+_history: it was deleted, or never written /);
      expect(r.stderr).to.not.include('not written by manage-key');
    });

    it('takes the latest Generated or Rotated (new) as current, notes malformed lines and a key file the history does not name', async () => {
      await mkdir(api());
      await writeFile(join(api(), '.api_key'), `${K1}\n`);
      await writeFile(join(api(), '.api_key_history'), [
        `2024-07-01 08:00:00 | Generated | ${K1}`, 'garbage', `2024-07-01 08:30:00 | Rotated (replaced) | ${K1}`,
        `2024-07-01 08:30:00 | Rotated (new) | ${K2}`, `2024-07-01 08:30:00 | Revoked | ${K1}`, ''].join('\n'));
      const r = await cli(dir, ['history']);
      expect(r.code).to.equal(0);
      expect(r.stdout.split('\n').slice(-2)).to.deep.equal(['CURRENT ACTIVE KEY: qwk_se...111111', '']);
      expect(r.stderr).to.equal(`manage-key: note: skipped 1 malformed line(s) in ${join(api(), '.api_key_history')}\n`
        + `manage-key: note: ${join(api(), '.api_key')} holds a key the history does not name as current (${K1_FINGERPRINT}); `
        + 'it was changed without manage-key, and servers use the key file\'s key\n');
    });

    it('says nothing more when the history is whole and names the key file\'s key', async () => {
      await mkdir(api());
      await writeFile(join(api(), '.api_key'), `${K2}\n`);
      await writeFile(join(api(), '.api_key_history'), `2024-07-01 08:00:00 | Generated | ${K1}\n2024-07-01 08:30:00 | Rotated (new) | ${K2}\n`);
      const r = await cli(dir, ['history', '--json']);
      expect([r.code, r.stderr]).to.deep.equal([0, '']);
      expect(JSON.parse(r.stdout).current).to.deep.equal({ key: 'qwk_se...111111', fingerprint: 'sha256:249a6be7eec0' });
    });
  });

  describe('rotate', () => {
    const rotated = (stderr: string) => stderr.split('\n');
    const history = (key: string) => writeFile(join(api(), '.api_key_history'), `2024-07-01 08:00:00 | Generated | ${key}\n`);
    beforeEach(async () => {
      await mkdir(api());
      await writeFile(join(api(), '.api_key'), `${K1}\n`);
    });

    it('names both keys by fingerprint, the files, and that clients need the new key', async () => {
      await history(K1);
      const r = await cli(dir, ['rotate']);
      const [first, fate, clients] = rotated(r.stderr);
      expect(first).to.match(new RegExp(`^Rotated the key in ${join(api(), '.api_key')}: ${K1_FINGERPRINT} -> sha256:[0-9a-f]{12}; logged in ${join(api(), '.api_key_history')}\\.$`));
      expect(fate).to.equal('The old key stays valid for the server\'s own grace window (its --grace / QWEN_KEY_GRACE; 0 ends it at once).');
      expect(clients).to.equal('Running servers pick up the new key by themselves; update your clients with the new key (then check with "manage-key test").');
    });

    it('gives the end of the window set by --grace', async () => {
      await history(K1);
      expect(rotated((await cli(dir, ['rotate', '--grace', '10m'])).stderr)[1]).to.equal('The old key stays valid until 2024-07-01 09:10:00 (--grace 10m).');
    });

    it('says the old key is revoked with --revoke', async () => {
      await history(K1);
      expect(rotated((await cli(dir, ['rotate', '--revoke'])).stderr)[1]).to.equal('The old key is revoked: servers refuse it as soon as they see the new key file.');
    });

    it('says the old key gets no window when the history did not name it as current', async () => {
      await history(K2);
      expect(rotated((await cli(dir, ['rotate', '--grace', '10m'])).stderr)[1]).to.equal('The old key gets no window: the history did not name it as the current key '
        + '(an interrupted rotation, or a key file changed by hand), so servers refuse it as soon as they see the new key file.');
    });

    it('believes a first rotation of a key written by hand, as servers do when they read the whole history', async () => {
      const r = await cli(dir, ['rotate', '--grace', '10m']);
      expect(rotated(r.stderr)[1]).to.equal('The old key stays valid until 2024-07-01 09:10:00 (--grace 10m).');
    });
  });
});
