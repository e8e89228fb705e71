import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { generateKey } from '../../../src/core/key.js';
import { keyFileWith, registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';

describe('server process: configuration', () => {
  const keyA = generateKey();
  const keyB = generateKey();
  const keyDefault = generateKey();
  for (const key of [keyA, keyB, keyDefault]) registerSecret(key);

  it('reads the key file from the default path relative to the working directory', async () => {
    const { dir, cleanup } = await tempDir();
    await keyFileWith(dir, keyDefault);
    const server = await spawnServer({ cwd: dir, args: ['--port', '0'] });
    try {
      expect(await statusOf(`${server.url}/api/v1/health`, keyDefault)).to.equal(200);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('takes env over defaults and flags over env', async () => {
    const { dir, cleanup } = await tempDir();
    await keyFileWith(dir, keyDefault);
    const fileA = await keyFileWith(dir, keyA, 'a/.api_key');
    const fileB = await keyFileWith(dir, keyB, 'b/.api_key');
    const fromEnv = await spawnServer({ cwd: dir, env: { PORT: '0', HOST: '127.0.0.1', QWEN_API_KEY_FILE: fileA, LOG_LEVEL: 'http' } });
    // PORT=1 in the env would fail to bind; the flag wins.
    const fromFlags = await spawnServer({
      cwd: dir, env: { PORT: '1', QWEN_API_KEY_FILE: fileA, LOG_LEVEL: 'http' }, args: ['--port', '0', '--key-file', fileB, '--log-level', 'info'],
    });
    try {
      expect(await statusOf(`${fromEnv.url}/api/v1/health`, keyA)).to.equal(200);
      expect(await statusOf(`${fromEnv.url}/api/v1/health`, keyDefault)).to.equal(401);
      await fromEnv.waitForLine((l) => l.message === 'request');
      expect(await statusOf(`${fromFlags.url}/api/v1/health`, keyB)).to.equal(200);
      expect(await statusOf(`${fromFlags.url}/api/v1/health`, keyA)).to.equal(401);
      expect(fromFlags.lines().some((l) => l.message === 'request')).to.equal(false);
    } finally {
      await Promise.all([fromEnv.stop(), fromFlags.stop()]);
      await cleanup();
    }
  });

  for (const [what, args, env] of [
    ['an unknown flag', ['--bogus'], {}],
    ['a port that is not a number', ['--port', 'abc'], {}],
    ['a bad duration in the env', [], { QWEN_KEY_GRACE: 'soon' }],
    ['a bad log level', ['--log-level', 'loud'], {}],
    ['a bad watch mode', ['--watch-mode', 'inotify'], {}],
    ['a bad body size', ['--max-body', '12 parsecs'], {}],
    ['a bad worker count', ['--workers', '0'], {}],
    ['a non-http upstream', ['--upstream', 'ftp://x'], {}],
  ] as const) {
    it(`exits 2 with one line on stderr for ${what}`, async () => {
      const server = await spawnServer({ args: [...args], env: { ...env }, waitListening: false });
      const { code } = await server.exited;
      expect(code).to.equal(2);
      expect(server.stdout()).to.equal('');
      expect(server.stderr().trim().split('\n')).to.have.length(1);
      expect(server.stderr()).to.match(/^qwen-key-daemon: /);
    });
  }

  for (const [args, says] of [
    [['--port', '-1'], 'qwen-key-daemon: invalid --port / PORT: "-1" is not a port number (0-65535)\n'],
    [['--grace', '-5m'], 'qwen-key-daemon: invalid --grace / QWEN_KEY_GRACE: duration "-5m" cannot be negative (use e.g. 0, 30s, 10m, 24h, 90d)\n'],
    [['--upstream', '--port', '0'], 'qwen-key-daemon: --upstream needs a value (see --help)\n'],
  ] as const) {
    it(`says what is wrong with ${args.join(' ')} (exit 2), not Node's hint`, async () => {
      const server = await spawnServer({ args: [...args], waitListening: false });
      expect((await server.exited).code).to.equal(2);
      expect(server.stderr()).to.equal(says);
    });
  }

  for (const flag of ['--help', '-h']) {
    it(`prints usage for ${flag} and exits 0`, async () => {
      const server = await spawnServer({ args: [flag], waitListening: false });
      expect((await server.exited).code).to.equal(0);
      expect(server.stdout()).to.include('--key-file');
      expect(server.stdout()).to.include('QWEN_UPSTREAM_URL');
      expect(server.stdout()).to.include('Exit status');
    });
  }

  it('prints its version for --version and exits 0', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const server = await spawnServer({ args: ['--version'], waitListening: false });
    expect((await server.exited).code).to.equal(0);
    expect(server.stdout()).to.equal(`qwen-key-daemon ${version}\n`);
  });
});
