import { expect } from 'chai';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { generateKey } from '../../../src/core/key.js';
import { loopbackSources, slowHeaderFlood } from '../../helpers/flood.js';
import type { Flood } from '../../helpers/flood.js';
import { eventually, keyFileWith, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';

// Regression: with the daemon at 256 descriptors, 300 slow-header connections made a valid health check
// go unanswered and a rotation fail to load (EMFILE). The connection cap now stays below the open-file
// limit with a reserve, and a full cap makes room by closing connections that never carried the key.

describe('server process: a slow-header flood under ulimit -n 256', function () {
  this.timeout(60_000);
  let server: ServerProcess | undefined;
  let flood: Flood | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let keyFile: string;
  const key = generateKey();
  const next = generateKey();
  registerSecret(key);
  registerSecret(next);

  beforeEach(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    keyFile = await keyFileWith(tmp.dir, key);
    server = await spawnServer({ openFiles: 256, args: ['--port', '0', '--key-file', keyFile] });
  });
  afterEach(async () => {
    flood?.stop();
    await server?.stop();
    await cleanup?.();
  });

  /** The health route's status with `withKey`, or 0 when no answer came within 5 s. */
  async function health(s: ServerProcess, withKey: string): Promise<number> {
    try {
      const res = await fetch(`${s.url}/api/v1/health`, { headers: { 'X-API-Key': withKey }, signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Health with the key is answered, a rotation is loaded, and no descriptor ran out. */
  async function expectServingAndReloading(s: ServerProcess): Promise<void> {
    expect(await health(s, key)).to.equal(200);
    await writeKeyFile(keyFile, next);
    await eventually(async () => (await health(s, next)) === 200, 10_000, 100);
    expect(await health(s, key)).to.equal(401);
    expect(s.stdout() + s.stderr()).to.not.include('EMFILE');
  }

  it('lowers --max-connections to what 256 descriptors leave room for, and says so', async () => {
    const line = await server!.waitForLine((l) => l.message === 'max connections lowered to fit the open-file limit');
    expect(line).to.include({ level: 'warn', requested: 1024, maxConnections: 192, openFileLimit: 256 });
  });

  it('300 connections from one address: a health check with the key is answered and a rotation loads', async () => {
    flood = await slowHeaderFlood(server!.port, 300, ['127.0.0.2']);
    await expectServingAndReloading(server!);
    // --max-connections-per-ip's default held the flood to 64.
    expect(flood.sockets.length - flood.closed()).to.be.at.most(64);
  });

  it('300 connections from ten addresses: a health check with the key is answered and a rotation loads', async () => {
    flood = await slowHeaderFlood(server!.port, 300, loopbackSources(10));
    await expectServingAndReloading(server!);
    // The lowered --max-connections held the flood to 192 (less the connections the health checks took).
    expect(flood.sockets.length - flood.closed()).to.be.at.most(192);
  });
});
