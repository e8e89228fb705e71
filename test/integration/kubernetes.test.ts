import { expect } from 'chai';
import { copyFile, mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprint } from '../../src/core/key.js';
import { tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { acceptedWithin, accepts, health, historyLines, keyFrom, manageKey, refusal, run, startServer } from './harness.js';

/**
 * A Kubernetes Secret volume laid out and updated the way the kubelet does it: the files live in a
 * timestamped `..YYYY_MM_DD_hh_mm_ss.N` directory, `..data` links to it, and the visible names
 * (`.api_key`, `.api_key_history`) link into `..data`. An update writes a new timestamped directory,
 * points `..data_tmp` at it, renames that over `..data`, and removes the old directory.
 */
class SecretVolume {
  #serial = 0;
  #current: string | undefined;
  constructor(readonly dir: string) {}

  get keyFile(): string {
    return join(this.dir, '.api_key');
  }

  /** Publishes the local key file and its history together; resolves to when `..data` was swapped. */
  async publish(localKeyFile: string): Promise<number> {
    const stamp = new Date().toISOString().replace(/[-T:]/g, '_').replace(/\..*$/, '');
    const next = `..${stamp}.${String(++this.#serial).padStart(9, '0')}`;
    await mkdir(join(this.dir, next), { recursive: true });
    await copyFile(localKeyFile, join(this.dir, next, '.api_key'));
    await copyFile(`${localKeyFile}_history`, join(this.dir, next, '.api_key_history'));
    let swappedAt = Date.now();
    if (this.#current === undefined) {
      await symlink(next, join(this.dir, '..data'));
      await symlink('..data/.api_key', this.keyFile);
      await symlink('..data/.api_key_history', `${this.keyFile}_history`);
    } else {
      await symlink(next, join(this.dir, '..data_tmp'));
      swappedAt = Date.now();
      await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
      await rm(join(this.dir, this.#current), { recursive: true });
    }
    this.#current = next;
    return swappedAt;
  }
}

describe('integration: the server on a Kubernetes Secret volume', function () {
  this.timeout(20_000);
  let server: ServerProcess | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await server?.stop().catch(() => undefined);
    await cleanup?.();
  });

  it('picks up key and history swapped through ..data: the window, a revocation arriving later, rotate --revoke', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    // The rotation recipe: manage-key works on a local copy, then both files are applied to the Secret at once.
    const local = join(dir, 'local', '.api_key');
    const first = await keyFrom(['generate', '--key-file', local], dir);
    const volume = new SecretVolume(join(dir, 'secret'));
    await volume.publish(local);
    server = await startServer(volume.keyFile);
    expect(await accepts(server, first)).to.equal(true);

    const second = await keyFrom(['rotate', '--grace', '1h', '--key-file', local], dir);
    expect(await acceptedWithin(server, second, await volume.publish(local)), 'pickup after the ..data swap').to.be.below(1000);
    expect(await accepts(server, first), 'old key inside the window set by rotate --grace').to.equal(true);
    const graceLine = (await historyLines(local)).find((l) => l.action.startsWith('Grace until '))!;
    const until = new Date(graceLine.action.slice('Grace until '.length)).toISOString();
    expect((await health(server, second)).previousKey).to.deep.equal({ fingerprint: fingerprint(first), until, active: true });
    // manage-key reads the mounted files through their links and agrees with the server.
    const status = JSON.parse((await manageKey(['status', '--json', '--key-file', volume.keyFile], dir)).stdout) as {
      current: { fingerprint: string }; previous: { fingerprint: string; until: string; valid: boolean };
    };
    expect(status.current.fingerprint).to.equal(fingerprint(second));
    expect(status.previous).to.include({ fingerprint: fingerprint(first), until, valid: true });

    // The old key leaks: the operator appends a revocation to the local history and applies it; the key is unchanged.
    expect(await run('sh', ['-c', 'echo "$(date "+%Y-%m-%d %H:%M:%S") | Revoked | $1" >> "$2"', 'sh', first, `${local}_history`])).to.equal(0);
    const revokedAt = await volume.publish(local);
    const { at } = await refusal(server, first, revokedAt + 1500);
    expect(at - revokedAt, 'revocation picked up (ms)').to.be.below(1000);
    expect(await accepts(server, second)).to.equal(true);
    expect((await health(server, second)).previousKey?.active).to.equal(false);

    const third = await keyFrom(['rotate', '--revoke', '--key-file', local], dir);
    expect(await acceptedWithin(server, third, await volume.publish(local))).to.be.below(1000);
    expect(await accepts(server, second), 'rotate --revoke: old key refused as the new one arrives').to.equal(false);
    expect((await readdir(volume.dir)).filter((name) => name.startsWith('..2')).length, 'old payload directories removed').to.equal(1);
    expect(server.lines().filter((l) => l.level === 'error').length, 'error lines logged').to.equal(0);
  });
});
