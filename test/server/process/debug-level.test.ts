import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { runCli } from '../../cli/processes.js';
import { eventually, keyFileWith, registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';
import { rawRequest } from '../../helpers/raw-http.js';
import { startUpstream } from '../../proxy/harness.js';

const FAULT = fileURLToPath(new URL('../../fixtures/fault.mjs', import.meta.url));
const FIRST = 'qwk_debug_level_first_' + 'Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5';

// The key-leak guard (test/helpers/leak-guard.ts) reads all this server's output: at debug level, through
// rotations by the CLI and by hand, a 500, a refused key and failed upstream exchanges, no line may hold a key.
describe('server process at --log-level debug: everything it logs, and never a key', function () {
  this.timeout(30_000);

  it('logs at debug through rotations, a 500, a wrong key and proxied failures, and no line holds a key', async () => {
    registerSecret(FIRST);
    const { dir, cleanup } = await tempDir();
    const upstream = await startUpstream();
    let server: ServerProcess | undefined;
    try {
      const keyFile = await keyFileWith(dir, FIRST);
      server = await spawnServer({
        nodeArgs: ['--import', FAULT],
        args: ['--port', '0', '--key-file', keyFile, '--log-level', 'debug', '--grace', '10s', '--auth-fail-limit', 'off', '--upstream', upstream.url.href],
      });
      const s = server;
      const loaded = (count: number) => eventually(() => s.lines().filter((l) => l.message === 'key loaded').length >= count, 5000);
      let current = FIRST;

      // Rotations: the CLI twice (with a window, then revoking), and a key written by hand.
      for (const args of [['rotate', '--grace', '1m'], ['rotate', '--revoke']]) {
        const rotated = await runCli([...args, '--key-file', keyFile], { cwd: dir });
        expect(rotated.code, rotated.stderr).to.equal(0);
        current = rotated.stdout.trim();
        registerSecret(current);
      }
      await loaded(3);
      current = 'qwk_debug_level_by_hand_' + 'Z9x8C7v6B5n4M3l2K1j0H9g8F7d6S5';
      registerSecret(current);
      await writeKeyFile(keyFile, current);
      await eventually(async () => (await statusOf(`${s.url}/api/v1/health`, current)) === 200, 5000);

      // A request that fails inside the app: 500, logged as `request failed`.
      s.child.kill('SIGUSR2');
      await eventually(() => s.stderr().includes('fault armed'), 5000);
      const failed = await fetch(`${s.url}/metrics`, { headers: { 'X-API-Key': current } });
      expect(failed.status).to.equal(500);
      expect(await failed.json()).to.deep.equal({ detail: 'Internal server error' });
      await s.waitForLine((l) => l.message === 'request failed' && String(l.error).includes('injected fault'));

      // A wrong key, and the upstream failing: reset mid-request, and an upstream that answers 500.
      expect(await statusOf(`${s.url}/api/v1/health`, FIRST)).to.equal(401);
      expect((await fetch(`${s.url}/api/v1/reset`, { headers: { 'X-API-Key': current } })).status).to.equal(502);
      expect((await fetch(`${s.url}/api/v1/status/500`, { headers: { 'X-API-Key': current } })).status).to.equal(500);
      await s.waitForLine((l) => l.message === 'upstream request failed');
      // A request Node cannot parse, logged at debug level only.
      expect((await rawRequest(s.port, `GARBAGE X-API-Key: ${current}\r\n\r\n`)).status).to.equal(400);
      await s.waitForLine((l) => l.level === 'debug' && l.message === 'unparsable request');

      const levels = new Set(s.lines().map((l) => l.level));
      expect([...levels].sort()).to.include.members(['debug', 'error', 'http', 'info', 'warn']);
      expect(s.lines().filter((l) => l.message === 'key loaded').length).to.be.at.least(4);
    } finally {
      await server?.stop();
      await upstream.stop();
      await cleanup();
    }
  });
});
