import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rename, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { digestOf } from '../../src/core/key.js';
import { registerSecret, tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { REPO } from '../cli/processes.js';
import { acceptedWithin, accepts, refusal, startServer } from './harness.js';

const SCRIPT = join(REPO, 'deploy', 'kubernetes', 'rotate-secret.sh');
const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures');

/**
 * A Secret volume fed from a Secret's data, as the kubelet does it: every data key becomes a file in a new
 * `..<timestamp>` directory, `..data` is swapped to it, and each visible name links into `..data` (a name
 * new to the Secret gets its link when it first appears).
 */
class SecretVolume {
  #serial = 0;
  #current: string | undefined;
  constructor(readonly dir: string) {}

  async publish(data: string): Promise<number> {
    const next = `..2026_11_29_10_00_00.${String(++this.#serial).padStart(9, '0')}`;
    await mkdir(join(this.dir, next), { recursive: true });
    const names = await readdir(data);
    for (const name of names) await copyFile(join(data, name), join(this.dir, next, name));
    await symlink(next, join(this.dir, '..data_tmp'));
    const swappedAt = Date.now();
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of names) await symlink(`..data/${name}`, join(this.dir, name)).catch(() => undefined);
    if (this.#current) await rm(join(this.dir, this.#current), { recursive: true });
    this.#current = next;
    return swappedAt;
  }
}

/** Runs rotate-secret.sh ARGS against the fake kubectl and its Secret in `store`. */
function rotateSecret(args: string[], store: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(SCRIPT, args, { env: { PATH: `${FIXTURES}:${process.env.PATH}`, FAKE_SECRET_DIR: store }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      for (const match of stdout.matchAll(/qwk_[A-Za-z0-9_-]{43}/g)) registerSecret(match[0]);
      done({ code, stdout, stderr });
    });
  });
}

describe('integration: named keys in a Kubernetes Secret (rotate-secret.sh, ..data)', function () {
  this.timeout(30_000);
  let server: ServerProcess | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    await server?.stop();
    for (const cleanup of cleanups) await cleanup();
  });
  const scratch = async (): Promise<string> => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    return dir;
  };

  it('adds and removes a client through the Secret: the clients file travels with the key, the server follows the volume', async () => {
    const dir = await scratch();
    const store = join(dir, 'secret-data');
    const volume = new SecretVolume(join(dir, 'volume'));
    expect((await rotateSecret(['--create'], store)).code, 'create the Secret').to.equal(0);
    expect((await readdir(store)).sort()).to.deep.equal(['.api_key', '.api_key_history']);
    const staticKey = (await readFile(join(store, '.api_key'), 'utf8')).trim();
    registerSecret(staticKey);
    await volume.publish(store);
    server = await startServer(join(volume.dir, '.api_key'));

    const added = await rotateSecret(['add', 'alice', '--expires', '30d'], store);
    expect(added.code, added.stderr).to.equal(0);
    expect(added.stdout).to.match(/^qwk_[A-Za-z0-9_-]{43}\n$/);
    const alice = added.stdout.trim();
    const clients = await readFile(join(store, '.api_clients'), 'utf8');
    expect(clients.includes(alice), 'a key in the Secret').to.equal(false);
    expect(clients).to.include(digestOf(alice));
    expect((await readFile(join(store, '.api_key'), 'utf8')).trim() === staticKey, 'the static key untouched').to.equal(true);
    expect(await acceptedWithin(server, alice, await volume.publish(store)), 'added through ..data').to.be.below(1000);

    const listed = await rotateSecret(['list'], store);
    expect(listed.stdout).to.match(/alice\s+sha256:[0-9a-f]{12}/);

    // Rotating the static key carries the named keys along in the same apply.
    const rotated = await rotateSecret(['--grace', '10m'], store);
    expect(rotated.code, rotated.stderr).to.equal(0);
    expect(await readFile(join(store, '.api_clients'), 'utf8')).to.equal(clients);
    const next = (await readFile(join(store, '.api_key'), 'utf8')).trim();
    registerSecret(next);
    await acceptedWithin(server, next, await volume.publish(store));
    expect(await accepts(server, alice)).to.equal(true);

    const removed = await rotateSecret(['remove', 'alice'], store);
    expect(removed.code, removed.stderr).to.equal(0);
    const swapped = await volume.publish(store);
    const { at } = await refusal(server, alice, swapped + 1500);
    expect(at - swapped, 'removed through ..data').to.be.below(1000);
    expect(await accepts(server, staticKey)).to.equal(true);
    expect(server.lines().filter((l) => l.level === 'error')).to.deep.equal([]);
  });

  it('refuses a named command before the Secret exists, changing nothing', async () => {
    const dir = await scratch();
    const done = await rotateSecret(['add', 'alice'], join(dir, 'none'));
    expect(done.code).to.equal(1);
    expect(done.stderr).to.match(/Secret default\/qwen-api-key does not exist; create it first with rotate-secret\.sh --create/);
    expect(await readdir(dir)).to.deep.equal([]);
  });
});
