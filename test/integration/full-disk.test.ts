import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directoryDigest } from '../core/helpers.js';
import { acceptedWithin, accepts, keyFrom, manageKey, startServer } from './harness.js';

/** Writes zeros to `path` until the file system has no room left. */
async function fill(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(1024);
  try {
    for (let i = 0; i < 1024; i++) await handle.write(chunk);
    throw new Error('the file system never filled up');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await handle.close();
  }
}

describe('a full key directory (the real CLI and server on a 64 KiB tmpfs)', function () {
  this.timeout(30_000);
  let dir: string;
  let mounted = false;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'qwen-full-'));
    // A real full file system needs a mount of its own: root (or CAP_SYS_ADMIN) only.
    mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]).status === 0;
    if (!mounted) {
      await rm(dir, { recursive: true, force: true });
      this.skip();
    }
  });
  after(async () => {
    if (mounted) spawnSync('umount', [dir]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails every write with one clear line and changes nothing; the server keeps its key, and takes the next one once there is room', async () => {
    const api = join(dir, 'api');
    await mkdir(api, { mode: 0o700 });
    const key = await keyFrom(['generate'], dir);
    const server = await startServer(join(api, '.api_key'));
    try {
      await fill(join(dir, 'filler'));
      const before = await directoryDigest(api);
      for (const args of [['rotate'], ['rotate', '--grace', '10m'], ['rotate', '--revoke'], ['generate', '--force']]) {
        const r = await manageKey(args, dir);
        expect(r.code, args.join(' ')).to.equal(1);
        expect(r.stderr, args.join(' ')).to.match(/^manage-key: cannot (lock|write) [^\n]*no space left on the device \(ENOSPC\)[^\n]*\n$/);
        expect(r.stdout, args.join(' ')).to.equal('');
        expect(await directoryDigest(api), `${args.join(' ')} left the key directory as it was`).to.equal(before);
      }
      expect(await accepts(server, key), 'the server still takes the key').to.equal(true);

      await rm(join(dir, 'filler'));
      const next = await keyFrom(['rotate'], dir);
      await acceptedWithin(server, next);
    } finally {
      await server.stop();
    }
  });
});
