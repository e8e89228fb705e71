import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmod, chown } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { generateKey } from '../../../src/core/key.js';
import { keyFileWith, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';

const NOBODY = 65534;

// A start that fails says why twice: the JSON line for log collectors on stdout, and one plain line on
// stderr naming the cause and the fix for the person at the terminal; the exit code tells the kind.
describe('server process: start-up failures', function () {
  this.timeout(20_000);
  const key = generateKey();
  registerSecret(key);

  // Regression: the helper waited out its 10 s deadline and said only "timed out waiting for a log line".
  it('a server that exits before it listens fails spawnServer at once, with the exit and the server\'s stderr', async () => {
    const started = Date.now();
    const err = await spawnServer({ args: ['--port', 'not-a-port'] }).then(() => undefined, (e: Error) => e);
    expect(Date.now() - started, 'ms until the helper gave up').to.be.below(5000);
    expect(err?.message).to.match(/^server exited \(code 2\) before the expected log line; stderr:\nqwen-key-daemon: .*--port/);
  });

  it('port in use: exit 1, the port and --port on stderr, the JSON line kept', async () => {
    const { dir, cleanup } = await tempDir();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const server = await spawnServer({ args: ['--port', String(port), '--key-file', await keyFileWith(dir, key)], waitListening: false });
      expect((await server.exited).code).to.equal(1);
      expect(server.stderr()).to.equal(`qwen-key-daemon: cannot listen on 127.0.0.1:${port}: the port is already in use (another server, `
        + 'or this one already running?); stop that one, or choose another port with --port N (or PORT)\n');
      expect(server.lines().find((l) => l.message === 'cannot start')).to.include({ level: 'error', exitCode: 1 });
    } finally {
      taken.close();
      await cleanup();
    }
  });

  it('an invalid QWEN_API_KEY is bad configuration: exit 2, what is wrong on stderr, never the value', async () => {
    const { dir, cleanup } = await tempDir();
    const bad = 'not a valid key with spaces';
    try {
      const server = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key')], env: { QWEN_API_KEY: bad }, waitListening: false });
      expect((await server.exited).code).to.equal(2);
      expect(server.stderr()).to.equal('qwen-key-daemon: QWEN_API_KEY is not a valid key: it contains whitespace, control or non-ASCII '
        + 'characters (KEY_INVALID_CHARS); fix QWEN_API_KEY or unset it (bad configuration: exit code 2)\n');
      expect(server.lines().find((l) => l.message === 'cannot start')).to.include({ level: 'error', exitCode: 2 });
      expect((server.stdout() + server.stderr()).includes(bad)).to.equal(false);
    } finally {
      await cleanup();
    }
  });

  it('an invalid QWEN_API_KEY with --workers 2: the supervisor exits 2 as well', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const server = await spawnServer({
        args: ['--port', '0', '--workers', '2', '--key-file', join(dir, 'api', '.api_key')], env: { QWEN_API_KEY: 'two words' }, waitListening: false,
      });
      expect((await server.exited).code).to.equal(2);
      expect(server.stderr()).to.match(/^qwen-key-daemon: QWEN_API_KEY is not a valid key: [^\n]*\n/);
    } finally {
      await cleanup();
    }
  });

  it('a key directory it may not create: exit 1, "first-run key could not be generated" and where (as root, run as nobody)', async function () {
    const { dir, cleanup } = await tempDir();
    // chmod does not stop root, so as root the server runs as "nobody" in a directory nobody may not write.
    const user = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : undefined;
    try {
      if (user) await chown(dir, NOBODY, NOBODY);
      await chmod(dir, 0o500);
      const probe = spawnSync(process.execPath, ['-e', `require('fs').mkdirSync(${JSON.stringify(join(dir, 'probe'))})`], user ?? {});
      if (probe.status === 0) this.skip(); // the directory stays writable (a file system ignoring modes)
      const server = await spawnServer({ args: ['--port', '0'], cwd: dir, user, waitListening: false });
      expect((await server.exited).code).to.equal(1);
      expect(server.stderr()).to.equal(`qwen-key-daemon: no key yet, and a first-run key could not be generated into ${join(dir, 'api', '.api_key')}: `
        + `${join(dir, 'api')}: permission denied (EACCES); make that directory writable, point --key-file (or QWEN_API_KEY_FILE) `
        + 'at a writable place, or set QWEN_API_KEY\n');
      expect(server.lines().find((l) => l.message === 'cannot start')).to.include({ level: 'error', exitCode: 1 });
    } finally {
      await chmod(dir, 0o700);
      await cleanup();
    }
  });
});
