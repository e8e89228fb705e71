import { expect } from 'chai';
import sinon from 'sinon';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../src/cli/commands.js';
import { fingerprint } from '../../src/core/key.js';
import type { CliIo } from '../../src/cli/commands.js';
import { workDir } from './processes.js';

const NOW = new Date(2024, 6, 1, 9, 0, 0);

/** Runs the CLI in-process with captured output. */
async function cli(cwd: string, argv: string[], extra: Partial<CliIo> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd, clock: () => NOW, ...extra,
  });
  return { code, stdout, stderr };
}

describe('cli-commands', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await workDir()));
  afterEach(() => cleanup());

  it('generates into api/.api_key under the working directory and prints the key alone', async () => {
    const r = await cli(dir, ['generate']);
    expect(r.code).to.equal(0);
    const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
    expect(r.stdout === key + '\n').to.equal(true);
    expect(r.stderr.includes(key)).to.equal(false);
    expect((await cli(dir, [])).stdout === key + '\n').to.equal(true);
  });

  it('uses QWEN_API_KEY_FILE, and --key-file over it', async () => {
    await cli(dir, ['generate'], { env: { QWEN_API_KEY_FILE: 'env/k' } });
    expect((await readFile(join(dir, 'env', 'k'), 'utf8')).length).to.be.above(40);
    await cli(dir, ['generate', '--key-file', 'flag/k'], { env: { QWEN_API_KEY_FILE: 'env/k' } });
    expect((await readFile(join(dir, 'flag', 'k'), 'utf8')).length).to.be.above(40);
  });

  it('refuses to generate over a key (exit 1, one line)', async () => {
    await cli(dir, ['generate']);
    const again = await cli(dir, ['generate']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/^manage-key: a key already exists in .*--force.*\n$/);
  });

  it('show without a key file names the full path it looked at, how to point elsewhere, and generate', async () => {
    const empty = await cli(dir, ['show']);
    expect(empty.code).to.equal(1);
    expect(empty.stdout).to.equal('');
    expect(empty.stderr).to.equal(`manage-key: no key file at ${join(dir, 'api', '.api_key')} (the default, api/.api_key under the current `
      + 'directory); run manage-key in the directory the server runs in, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE); '
      + '"manage-key generate" creates a key there\n');
  });

  it('explains an unusable key file in one line', async () => {
    await cli(dir, ['generate']);
    await writeFile(join(dir, 'api', '.api_key'), 'two words\n');
    const r = await cli(dir, ['show']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^manage-key: the key file .* does not hold a usable key: .*whitespace.*\n$/);
  });

  it('rotates, printing the new key alone and the old key\'s fate on stderr', async () => {
    await cli(dir, ['generate']);
    const plain = await cli(dir, ['rotate']);
    expect(plain.code).to.equal(0);
    expect(/^qwk_[A-Za-z0-9_-]{43}\n$/.test(plain.stdout)).to.equal(true);
    expect(plain.stderr).to.include('Running servers pick up the new key by themselves; update your clients');
    expect(plain.stderr).to.include('server\'s own grace');
    expect((await cli(dir, ['rotate', '--grace', '10m'])).stderr).to.include('stays valid until 2024-07-01 09:10:00');
    expect((await cli(dir, ['rotate', '--revoke'])).stderr).to.include('revoked');
  });

  it('rotating without a key exits 1 and says to run generate', async () => {
    const r = await cli(dir, ['rotate']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('manage-key generate');
  });

  describe('rotate with a key file that holds no usable key', () => {
    it('replaces the history\'s current key and says so, with the window it keeps', async () => {
      const old = (await cli(dir, ['generate'])).stdout.trim();
      await writeFile(join(dir, 'api', '.api_key'), '\n');
      const r = await cli(dir, ['rotate', '--grace', '10m']);
      const key = r.stdout.trim();
      expect(r.code).to.equal(0);
      expect(r.stderr.split('\n').slice(0, 3)).to.deep.equal([
        `manage-key: note: the key file ${join(dir, 'api', '.api_key')} held no usable key (key file is empty); this rotation replaced the `
          + `history's current key ${fingerprint(old)}, the one running servers keep in force`,
        `Rotated the key in ${join(dir, 'api', '.api_key')}: ${fingerprint(old)} -> ${fingerprint(key)}; logged in ${join(dir, 'api', '.api_key_history')}.`,
        'The old key stays valid until 2024-07-01 09:10:00 (--grace 10m).',
      ]);
    });

    it('says an empty key file without a history is empty, not missing', async () => {
      await writeFile(join(dir, 'api', '.api_key'), '');
      const r = await cli(dir, ['rotate']);
      expect([r.code, r.stderr]).to.deep.equal([1, `manage-key: the key file ${join(dir, 'api', '.api_key')} does not hold a usable key: key file is `
        + 'empty, and its history names no current key, so there is no key to rotate (fix the file, or start afresh with '
        + '"manage-key generate --force", which gives no window)\n']);
    });
  });

  it('exits 2 with one line for usage errors, including a bad QWEN_KEY_GRACE for status', async () => {
    for (const argv of [['nope'], ['rotate', '--grace', 'x'], ['show', 'history']]) {
      const r = await cli(dir, argv);
      expect(r.code).to.equal(2);
      expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    }
    const env = await cli(dir, ['status'], { env: { QWEN_KEY_GRACE: 'soon' } });
    expect(env.code).to.equal(2);
    expect(env.stderr).to.include('QWEN_KEY_GRACE');
  });

  it('prints help on stdout with exit 0', async () => {
    const r = await cli(dir, ['--help']);
    expect(r.code).to.equal(0);
    for (const word of ['generate', 'show', 'rotate', 'history', 'status', 'test', '--key-file', 'QWEN_API_KEY_FILE', 'Exit status',
      '--previous', '--max-grace', 'QWEN_MAX_GRACE']) {
      expect(r.stdout).to.include(word);
    }
  });

  it('history names the latest Generated / Rotated (new) entry as current, and notes a key file changed by hand', async () => {
    const generated = (await cli(dir, ['generate'])).stdout.trim();
    await writeFile(join(dir, 'api', '.api_key'), 'hand-written-key-0123456789\n');
    const r = await cli(dir, ['history']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trimEnd().endsWith(`CURRENT ACTIVE KEY: ${generated.slice(0, 6)}...${generated.slice(-6)}`)).to.equal(true);
    expect(r.stdout.includes('hand-w')).to.equal(false);
    expect(r.stderr).to.match(/holds a key the history does not name as current \(sha256:[0-9a-f]{12}\).*servers use the key file's key/);
    expect(r.stderr.includes('hand-written')).to.equal(false);
  });

  it('history without a history file exits 1 like show, naming the full path it looked at', async () => {
    const r = await cli(dir, ['history']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(new RegExp(`^manage-key: no key history at ${join(dir, 'api', '.api_key_history')} \\(the default, [^\n]*--key-file FILE[^\n]*\n$`));
  });

  it('history beside a hand-made key file without history says where the history would start', async () => {
    await writeFile(join(dir, 'api', '.api_key'), 'hand-written-key-0123456789\n');
    const r = await cli(dir, ['history']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^manage-key: no history file at \S+_history: it was deleted, or never written .*rotate.*\n$/);
  });

  it('refuses rotate --grace longer than --max-grace (QWEN_MAX_GRACE, default 7d) with a usage error', async () => {
    await cli(dir, ['generate']);
    const r = await cli(dir, ['rotate', '--grace', '8d']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^manage-key: --grace 8d is longer than servers honour \(--max-grace 7d, QWEN_MAX_GRACE\)/);
    expect((await cli(dir, ['rotate', '--grace', '8d', '--max-grace', '10d'])).code).to.equal(0);
    expect((await cli(dir, ['rotate', '--grace', '8d'], { env: { QWEN_MAX_GRACE: '10d' } })).code).to.equal(0);
  });

  it('status cuts a window longer than --max-grace, as servers do, and says so', async () => {
    await cli(dir, ['generate']);
    await cli(dir, ['rotate', '--grace', '30d', '--max-grace', '30d']);
    const r = await cli(dir, ['status', '--max-grace', '1d']);
    expect(r.stdout).to.include('valid until 2024-07-02 09:00:00');
    expect(r.stdout).to.include('its rotation asked for 2024-07-31 09:00:00; servers cut windows to --max-grace 1d');
  });

  it('status takes the server default window from QWEN_KEY_GRACE and says it assumed it', async () => {
    await cli(dir, ['generate']);
    await cli(dir, ['rotate']);
    const r = await cli(dir, ['status'], { env: { QWEN_KEY_GRACE: '10m' } });
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('valid until 2024-07-01 09:10:00');
    expect(r.stdout).to.include('assuming the server\'s default grace of 10m');
  });

  describe('what each command reads from the environment and warns about', () => {
    const keyFile = () => join(dir, 'api', '.api_key');

    it('prints its version, or "unknown" when it was not given one, and help only for help', async () => {
      expect(await cli(dir, ['--version'], { version: '1.2.3' })).to.deep.equal({ code: 0, stdout: 'manage-key (qwen-key-daemon) 1.2.3\n', stderr: '' });
      expect((await cli(dir, ['--version'])).stdout).to.equal('manage-key (qwen-key-daemon) unknown\n');
      expect((await cli(dir, ['help'], { version: '1.2.3' })).stdout).to.not.include('1.2.3');
    });

    it('generate says which key it made, where, and that servers pick it up', async () => {
      const r = await cli(dir, ['generate']);
      const key = r.stdout.trim();
      expect(r.stderr).to.equal(`Generated a new key (sha256:${createHash('sha256').update(key).digest('hex').slice(0, 12)}) in ${keyFile()}; `
        + `logged in ${keyFile()}_history.\nRunning servers pick up the new key by themselves; give it to your clients.\n`);
    });

    it('show prints nothing on stderr for a key from the key file', async () => {
      await cli(dir, ['generate']);
      expect((await cli(dir, ['show'])).stderr).to.equal('');
    });

    it('readers warn once, on stderr, about key files others can write; writers refuse them instead', async () => {
      await cli(dir, ['generate']);
      await chmod(join(dir, 'api'), 0o770);
      const warning = `manage-key: warning: directory ${join(dir, 'api')} is writable by its group; whoever can write there can change which keys are valid (chmod go-w)\n`;
      for (const argv of [['show'], ['history'], ['status']]) {
        const r = await cli(dir, argv);
        expect([r.code, r.stderr.split('\n')[0] + '\n'], argv[0]).to.deep.equal([0, warning]);
      }
      for (const argv of [['generate', '--force'], ['rotate']]) {
        const r = await cli(dir, argv);
        expect(r.code, argv[0]).to.equal(1);
        expect(r.stderr, argv[0]).to.not.include('warning');
        expect(r.stderr, argv[0]).to.match(/refusing to write .* it is in a directory writable by its group/);
      }
    });

    it('status opens no window from a history others can write, as servers do', async () => {
      await cli(dir, ['generate']);
      await cli(dir, ['rotate', '--grace', '1h']);
      const trusted = JSON.parse((await cli(dir, ['status', '--json'])).stdout) as { historyTrusted: boolean; previous: { valid: boolean } };
      expect([trusted.historyTrusted, trusted.previous.valid]).to.deep.equal([true, true]);
      await chmod(join(dir, 'api'), 0o770);
      const untrusted = JSON.parse((await cli(dir, ['status', '--json'])).stdout) as { historyTrusted: boolean; previous: unknown };
      expect([untrusted.historyTrusted, untrusted.previous]).to.deep.equal([false, null]);
    });

    it('takes QWEN_KEY_GRACE for status and test only, and never over --grace', async () => {
      await cli(dir, ['generate']);
      const rotated = await cli(dir, ['rotate'], { env: { QWEN_KEY_GRACE: '1h' } });
      expect(rotated.stderr).to.include('The old key stays valid for the server\'s own grace window');
      expect((await cli(dir, ['status', '--grace', '1m'], { env: { QWEN_KEY_GRACE: '1h' } })).stdout).to.include('valid until 2024-07-01 09:01:00');
      expect((await cli(dir, ['status', '--json'], { env: { QWEN_KEY_GRACE: 'junk' } })).code, 'a bad QWEN_KEY_GRACE').to.equal(2);
      expect((await cli(dir, ['show'], { env: { QWEN_KEY_GRACE: 'junk' } })).code, 'show ignores QWEN_KEY_GRACE').to.equal(0);
      expect((await cli(dir, ['test', '--url', 'http://127.0.0.1:9'], { env: { QWEN_KEY_GRACE: 'junk' } })).code, 'test reads it').to.equal(2);
    });

    it('takes QWEN_MAX_GRACE for status, test and rotate only', async () => {
      await cli(dir, ['generate']);
      for (const command of ['status', 'test', 'rotate']) {
        expect((await cli(dir, [command], { env: { QWEN_MAX_GRACE: 'junk' } })).code, command).to.equal(2);
      }
      for (const command of ['show', 'history']) {
        expect((await cli(dir, [command], { env: { QWEN_MAX_GRACE: 'junk' } })).code, command).to.equal(0);
      }
    });

    it('lets rotate --grace be exactly the maximum', async () => {
      await cli(dir, ['generate']);
      expect((await cli(dir, ['rotate', '--grace', '7d'])).code).to.equal(0);
      expect((await cli(dir, ['rotate', '--grace', '2h', '--max-grace', '1h'])).code).to.equal(2);
    });

    it('names the full path of a missing key file for every command that needs one', async () => {
      for (const command of ['rotate', 'status', 'test']) {
        const r = await cli(dir, [command]);
        expect([r.code, r.stderr], command).to.deep.equal([1, `manage-key: no key file at ${keyFile()} (the default, api/.api_key under the current directory); `
          + 'run manage-key in the directory the server runs in, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE); "manage-key generate" creates a key there\n']);
      }
    });
  });

  describe('test', () => {
    function fakeServer(valid: string[], status = 200) {
      return sinon.fake(async (_url: URL, init?: RequestInit) => {
        const key = (init?.headers as Record<string, string>)['X-API-Key']!;
        return new Response('{}', { status: valid.includes(key) ? status : 401 });
      });
    }

    it('exits 0 when the server accepts the current key, asking /api/v1/health with X-API-Key', async () => {
      await cli(dir, ['generate']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      const fetch = fakeServer([key]);
      const r = await cli(dir, ['test', '--url', 'http://h:9/base/'], { fetch: fetch as unknown as typeof globalThis.fetch });
      expect(r.code).to.equal(0);
      expect(String(fetch.firstCall.args[0])).to.equal('http://h:9/base/api/v1/health');
      expect((r.stdout + r.stderr).includes(key)).to.equal(false);
    });

    it('with --previous, checks the previous key inside a window, and exits 1 when it is refused', async () => {
      await cli(dir, ['generate']);
      const old = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      await cli(dir, ['rotate', '--grace', '1h']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      expect((await cli(dir, ['test', '--previous'], { fetch: fakeServer([key, old]) as unknown as typeof fetch })).code).to.equal(0);
      const r = await cli(dir, ['test', '--previous'], { fetch: fakeServer([key]) as unknown as typeof fetch });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/FAIL previous key .* rejected/);
      expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    });

    it('with --previous, exits 1 when a revoked key is still accepted', async () => {
      await cli(dir, ['generate']);
      const old = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      await cli(dir, ['rotate', '--revoke']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      expect((await cli(dir, ['test', '--previous'], { fetch: fakeServer([key]) as unknown as typeof fetch })).code).to.equal(0);
      expect((await cli(dir, ['test', '--previous'], { fetch: fakeServer([key, old]) as unknown as typeof fetch })).code).to.equal(1);
    });

    // Regression: the previous key was sent to whatever answered, unasked.
    it('sends only the current key unless --previous is given, and says what it skipped', async () => {
      await cli(dir, ['generate']);
      const old = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      await cli(dir, ['rotate', '--grace', '1h']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      const fetch = fakeServer([key, old]);
      const r = await cli(dir, ['test'], { fetch: fetch as unknown as typeof globalThis.fetch });
      expect(r.code).to.equal(0);
      const sent = fetch.getCalls().map((call) => (call.args[1]?.headers as Record<string, string>)['X-API-Key']);
      expect(sent.length).to.equal(1);
      expect(sent[0] === key).to.equal(true);
      expect(r.stdout).to.match(/^skip previous key \(valid until [^)]+\): not sent; add --previous to check it too$/m);
    });

    it('asks fetch never to follow a redirect', async () => {
      await cli(dir, ['generate']);
      const fetch = sinon.fake.resolves(new Response(null, { status: 302, headers: { Location: 'http://elsewhere/' } }));
      const r = await cli(dir, ['test'], { fetch: fetch as unknown as typeof globalThis.fetch });
      expect(fetch.firstCall.args[1]).to.include({ redirect: 'manual' });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/^FAIL current key sha256:[0-9a-f]{12}: unexpected \(HTTP 302, a redirect, not followed; expected accepted\)$/m);
    });

    it('warns on stderr when the URL is neither loopback nor https', async () => {
      await cli(dir, ['generate']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      const warning = /^manage-key: warning: http:\/\/api\.example\.com:8000\/ is neither loopback nor https; the key crosses the network in clear text$/m;
      const plain = await cli(dir, ['test', '--url', 'http://api.example.com:8000'], { fetch: fakeServer([key]) as unknown as typeof fetch });
      expect(plain.stderr).to.match(warning);
      for (const url of ['https://api.example.com', 'http://127.0.0.2:8000', 'http://localhost:8000', 'http://[::1]:8000']) {
        const quiet = await cli(dir, ['test', '--url', url], { fetch: fakeServer([key]) as unknown as typeof fetch });
        expect(quiet.stderr, url).to.equal('');
      }
    });

    it('exits 1 when the server answers oddly', async () => {
      await cli(dir, ['generate']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      const r = await cli(dir, ['test'], { fetch: fakeServer([key], 503) as unknown as typeof fetch });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal('manage-key: the server at http://127.0.0.1:8000/ does not answer as the key files say: current key unexpected\n');
    });

    describe('a server it cannot reach', () => {
      const refused = () => sinon.fake.rejects(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));

      it('prints the fact on stdout, once per key, and on stderr where it looked and how to look elsewhere', async () => {
        await cli(dir, ['generate']);
        await cli(dir, ['rotate', '--grace', '1h']);
        const r = await cli(dir, ['test', '--previous'], { fetch: refused() as unknown as typeof fetch });
        expect(r.code).to.equal(1);
        expect(r.stdout).to.match(/^FAIL current key sha256:[0-9a-f]{12}: unreachable \(ECONNREFUSED\)\nFAIL previous key \(valid until [^)]+\) sha256:[0-9a-f]{12}: unreachable \(ECONNREFUSED\)\n$/);
        expect(r.stderr).to.equal('manage-key: cannot reach the server at http://127.0.0.1:8000/ (ECONNREFUSED; is the server running? If it listens '
          + 'elsewhere, give its URL with --url URL, or the PORT (and HOST) it was started with)\n');
      });

      it('says when the address came from PORT and HOST, and that --url names another', async () => {
        await cli(dir, ['generate']);
        const r = await cli(dir, ['test'], { fetch: refused() as unknown as typeof fetch, env: { PORT: '28401' } });
        expect(r.stderr).to.equal('manage-key: cannot reach the server at http://127.0.0.1:28401/ (ECONNREFUSED; is the server running? This address '
          + 'comes from PORT and HOST, as the server reads them; give another with --url URL)\n');
      });

      it('with no fetch given, asks with the built-in one: nothing listening on a port is ECONNREFUSED', async () => {
        await cli(dir, ['generate']);
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
        const { port } = closed.address() as AddressInfo;
        await new Promise((resolve) => closed.close(resolve));
        const r = await cli(dir, ['test', '--url', `http://127.0.0.1:${port}`]);
        expect([r.code, r.stderr]).to.deep.equal([1, `manage-key: cannot reach the server at http://127.0.0.1:${port}/ (ECONNREFUSED; is the server running at that --url?)\n`]);
      });

      it('asks only whether the server runs at a --url given', async () => {
        await cli(dir, ['generate']);
        const r = await cli(dir, ['test', '--url', 'http://127.0.0.1:9'], { fetch: refused() as unknown as typeof fetch, env: { PORT: '28401' } });
        expect(r.stderr).to.equal('manage-key: cannot reach the server at http://127.0.0.1:9/ (ECONNREFUSED; is the server running at that --url?)\n');
      });
    });

    it('asks the server where its PORT and HOST put it when --url is not given, and where --url says when it is', async () => {
      await cli(dir, ['generate']);
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      const asked = async (args: string[], env: Record<string, string>) => {
        const fetch = fakeServer([key]);
        expect((await cli(dir, ['test', ...args], { fetch: fetch as unknown as typeof globalThis.fetch, env })).code).to.equal(0);
        return String(fetch.firstCall.args[0]);
      };
      expect(await asked([], { PORT: '28401' })).to.equal('http://127.0.0.1:28401/api/v1/health');
      expect(await asked([], { PORT: '28401', HOST: '0.0.0.0' })).to.equal('http://127.0.0.1:28401/api/v1/health');
      expect(await asked([], { HOST: '::' })).to.equal('http://[::1]:8000/api/v1/health');
      expect(await asked(['--url', 'http://localhost:7'], { PORT: '28401' })).to.equal('http://localhost:7/api/v1/health');
    });

    it('refuses a PORT no server can be asked on as a usage error (exit 2), but only for test', async () => {
      await cli(dir, ['generate']);
      const r = await cli(dir, ['test'], { env: { PORT: 'eighty' } });
      expect([r.code, r.stderr]).to.deep.equal([2, 'manage-key: PORT "eighty" is not a port a server can be asked on (1-65535); '
        + 'give the server\'s URL with --url (see manage-key --help)\n']);
      expect((await cli(dir, ['status'], { env: { PORT: 'eighty', HOST: 'a b' } })).code).to.equal(0);
    });
  });
});
