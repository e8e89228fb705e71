import { expect } from 'chai';
import { copyFile, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Action, historyPathFor } from '../../../src/core/history.js';
import { appendHistory } from '../../../src/core/history-file.js';
import { generateKeyFile, rotateKeyFile } from '../../../src/core/key-ops.js';
import { Latencies, startHotReload, tempDir, waitFor } from './helpers.js';
import type { HotReload } from './helpers.js';
import { registerSecret } from '../../helpers/log-capture.js';

/**
 * A Kubernetes Secret volume as the kubelet lays it out and swaps it: `.api_key -> ..data/.api_key`,
 * `..data -> ..<timestamp>/`, updated by writing a new timestamped directory, pointing a temporary
 * `..data_tmp` link at it, renaming that over `..data`, and deleting the old directory.
 */
class SecretVolume {
  #serial = 0;
  #current = '';
  constructor(readonly dir: string) {}

  get keyFile(): string {
    return join(this.dir, '.api_key');
  }

  async create(localKeyFile: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.#current = await this.#payload(localKeyFile);
    await symlink(this.#current, join(this.dir, '..data'));
    await symlink('..data/.api_key', this.keyFile);
    await symlink('..data/.api_key_history', historyPathFor(this.keyFile));
  }

  /** Publishes the key and its history together, the way the kubelet does; returns when the swap began. */
  async update(localKeyFile: string): Promise<number> {
    const next = await this.#payload(localKeyFile);
    await symlink(next, join(this.dir, '..data_tmp'));
    const swappedAt = performance.now();
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    await rm(join(this.dir, this.#current), { recursive: true });
    this.#current = next;
    return swappedAt;
  }

  async #payload(localKeyFile: string): Promise<string> {
    const name = `..2026_11_29_10_00_00.${String(++this.#serial).padStart(9, '0')}`;
    await mkdir(join(this.dir, name));
    await copyFile(localKeyFile, join(this.dir, name, '.api_key'));
    await copyFile(historyPathFor(localKeyFile), join(this.dir, name, '.api_key_history'));
    return name;
  }
}

describe('hot reload: Kubernetes Secret volume', function () {
  const latencies = new Latencies();
  let cleanup: () => Promise<void>;
  let local: string;
  let volume: SecretVolume;
  let hot: HotReload | undefined;

  beforeEach(async function () {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    local = join(dir, 'local', '.api_key');
    registerSecret(await generateKeyFile({ keyFile: local }));
    volume = new SecretVolume(join(dir, 'secret'));
    await volume.create(local);
  });
  // The key-leak guard (test/helpers/leak-guard.ts) reads every line hot.log wrote.
  afterEach(async function () {
    try {
      await hot?.close();
    } finally {
      hot = undefined;
      await cleanup();
    }
  });
  after(() => latencies.report('Kubernetes Secret volume'));

  const rotate = async (options: { graceMs?: number; revoke?: boolean } = {}) => {
    const { key, previous } = await rotateKeyFile({ keyFile: local, ...options });
    registerSecret(key);
    const swappedAt = await volume.update(local);
    return { key, previous, swappedAt };
  };
  const pickedUp = async (name: string, key: string, since: number) => {
    await waitFor(() => hot!.store.verify(key)?.key === 'current', name);
    latencies.add(name, performance.now() - since);
  };

  it('picks up a rotation swapped in through ..data, with the window from the history (rotate --grace)', async function () {
    hot = await startHotReload(volume.keyFile, { graceMs: 0 });
    const before = Date.now();
    const { key, previous, swappedAt } = await rotate({ graceMs: 10 * 60_000 });
    await pickedUp('5 ..data swap (rotate --grace 10m)', key, swappedAt);
    expect(hot.store.verify(previous)?.key).to.equal('previous');
    const until = hot.store.describe()!.previous!.until.getTime();
    expect(until).to.be.within(before + 10 * 60_000, Date.now() + 10 * 60_000);
  });

  it('ends the window when a revocation arrives through the volume', async function () {
    hot = await startHotReload(volume.keyFile, { graceMs: 60 * 60_000 });
    const { key, previous, swappedAt } = await rotate();
    await pickedUp('5 ..data swap (server grace 1h)', key, swappedAt);
    expect(hot.store.verify(previous)?.key).to.equal('previous');
    await appendHistory(historyPathFor(local), [{ time: new Date(), action: Action.revoked, key: previous }]);
    const revokedAt = await volume.update(local);
    await waitFor(() => hot!.store.verify(previous) === null, 'previous key revoked');
    latencies.add('5 revocation through ..data', performance.now() - revokedAt);
    expect(hot.store.verify(key)?.key).to.equal('current');
  });

  it('gives no window after rotate --revoke through the volume', async function () {
    hot = await startHotReload(volume.keyFile, { graceMs: 60 * 60_000 });
    const { key, previous, swappedAt } = await rotate({ revoke: true });
    await pickedUp('5 ..data swap (rotate --revoke)', key, swappedAt);
    expect(hot.store.verify(previous)).to.equal(null);
  });

  it('keeps the window across a restart inside it', async function () {
    const { key, previous } = await rotate({ graceMs: 10 * 60_000 });
    hot = await startHotReload(volume.keyFile, { graceMs: 0 });
    expect(hot.store.verify(key)?.key).to.equal('current');
    expect(hot.store.verify(previous)?.key).to.equal('previous');
  });

  it('the last swap wins after 30 swaps in quick succession', async function () {
    hot = await startHotReload(volume.keyFile);
    let last = { key: '', swappedAt: 0 };
    for (let i = 0; i < 30; i++) last = await rotate();
    await pickedUp('5 last of 30 quick ..data swaps', last.key, last.swappedAt);
  });
});
