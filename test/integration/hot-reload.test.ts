import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprint } from '../../src/core/key.js';
import { statusOf, tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { Latencies, accepts, freshKey, health, holds, logged, manageKey, metric, run, startServer, swap } from './harness.js';
import type { Swap } from './harness.js';

// Issue 3's hot-reload cases, end to end: one real server process, the key file changed by real
// tools (the CLI, sed, sh, vim), every pickup observed by a client over HTTP within 1 s, and in
// every round of that client's polling the old key or the new one was accepted (no lock-out).
const hasVim = spawnSync('sh', ['-c', 'command -v vim'], { stdio: 'ignore' }).status === 0;

/** Runs a shell script with `sh -c SCRIPT sh ARGS...`; fails on a non-zero exit. */
async function sh(script: string, ...args: string[]): Promise<void> {
  const code = await run('sh', ['-c', script, 'sh', ...args]);
  if (code !== 0) throw new Error(`sh exited ${code}`);
}

describe('integration: hot reload through the server process', function () {
  this.timeout(20_000);
  const latencies = new Latencies();
  let server: ServerProcess;
  let dir: string;
  let keyDir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  let current: string;

  // Each test starts its own server on its own key directory (start()), so each holds alone and in any order.
  let stop: Array<() => Promise<unknown>> = [];
  const start = async (): Promise<void> => {
    ({ dir, cleanup } = await tempDir());
    stop.push(cleanup);
    keyDir = join(dir, 'api');
    keyFile = join(keyDir, '.api_key');
    await mkdir(keyDir, { mode: 0o700 });
    const generated = await manageKey(['generate'], dir);
    if (generated.code !== 0) throw new Error(`manage-key generate exited ${generated.code}: ${generated.stderr}`);
    current = generated.stdout.trim();
    server = await startServer(keyFile);
    stop.push(() => server.stop());
  };
  afterEach(async () => {
    for (const step of stop.reverse()) await step().catch(() => undefined);
    stop = [];
  });
  after(() => latencies.report('hot reload (server process)'));

  /** Changes the key to `next` with `change`; asserts pickup ≤ 1 s, no lock-out, and the old key refused (grace 0). */
  const expectSwap = async (name: string, next: string, change: () => Promise<number | void>): Promise<Swap> => {
    const old = current;
    const result = await swap(server, old, next, change);
    latencies.add(name, result.latencyMs);
    expect(result.latencyMs, `${name}: pickup latency`).to.be.below(1000);
    expect(result.lockouts, `${name}: rounds with neither key accepted`).to.equal(0);
    expect(await accepts(server, old), `${name}: old key still accepted`).to.equal(false);
    current = next;
    return result;
  };
  const renameInto = async (key: string, tmp = `${keyFile}.tmp`) => {
    await writeFile(tmp, key + '\n', { mode: 0o600 });
    await rename(tmp, keyFile);
  };
  const readyz = () => statusOf(`${server.url}/readyz`);

  it('manage-key rotate (atomic rename)', async () => {
    await start();
    for (let i = 0; i < 3; i++) {
      const rotated = await manageKey(['rotate', '--key-file', keyFile], dir);
      expect(rotated.code, rotated.stderr).to.equal(0);
      // Measured from the new file's mtime, so the CLI's own start-up does not count.
      const written = (await stat(keyFile)).mtimeMs;
      await expectSwap('manage-key rotate', rotated.stdout.trim(), async () => written);
    }
  });

  it('a foreign temp file renamed over the key (sed -i)', async () => {
    await start();
    for (let i = 0; i < 3; i++) {
      const next = freshKey();
      await expectSwap('sed -i (temp file + rename)', next, () => sh('sed -i -e "s/.*/$1/" "$2"', next, keyFile));
    }
  });

  it('an in-place rewrite through a real shell (echo NEW > file)', async () => {
    await start();
    for (let i = 0; i < 3; i++) {
      const next = freshKey();
      await expectSwap('sh: echo NEW > file', next, () => sh('echo "$1" > "$2"', next, keyFile));
    }
  });

  it('a truncated, still empty key file never locks clients out; the write that follows is picked up', async () => {
    await start();
    const from = server.lines().length;
    const rejected = await metric(server, current, 'qwen_key_reloads_total{result="rejected"}');
    await sh(': > "$1"', keyFile);
    // The server has read the empty file, re-read it once, and said so at error level.
    await logged(server, from, (l) => l.level === 'error' && l.reason === 'KEY_EMPTY');
    expect(await metric(server, current, 'qwen_key_reloads_total{result="rejected"}')).to.be.greaterThan(rejected);
    expect(await accepts(server, current)).to.equal(true);
    expect(await readyz()).to.equal(200);
    const next = freshKey();
    await expectSwap('sh: : > file, then echo NEW > file', next, () => sh('echo "$1" > "$2"', next, keyFile));
  });

  it('delete and re-create', async () => {
    await start();
    for (let i = 0; i < 3; i++) {
      const next = freshKey();
      await expectSwap('rm + re-create', next, async () => {
        await unlink(keyFile);
        await writeFile(keyFile, next + '\n', { mode: 0o600 });
      });
    }
  });

  it('delete alone: old key still works, error logged, /readyz 200; a later re-creation is picked up', async () => {
    await start();
    const from = server.lines().length;
    await unlink(keyFile);
    await logged(server, from, (l) => l.level === 'error' && l.reason === 'KEY_MISSING');
    expect(await accepts(server, current)).to.equal(true);
    expect(await readyz()).to.equal(200);
    const body = await health(server, current);
    expect(body.key.fingerprint).to.equal(fingerprint(current));
    expect(body.key.source).to.equal('file');
    const next = freshKey();
    await expectSwap('re-created after a delete', next, () => writeFile(keyFile, next + '\n', { mode: 0o600 }));
  });

  it(`an editor's save (${hasVim ? 'vim: backup, rename away, write new' : 'simulated vim save'})`, async () => {
    await start();
    for (let i = 0; i < 2; i++) {
      const next = freshKey();
      const inode = (await stat(keyFile)).ino;
      await expectSwap(hasVim ? 'vim :wq' : 'simulated vim save', next, async () => {
        if (hasVim) {
          // Vim skips its backup for files under /tmp (backupskip); a real key file is not there.
          const code = await run('vim', ['-es', '-u', 'NONE', '-i', 'NONE', '-N', '-c', 'set backupskip=', '-c', `%s/.*/${next}/`, '-c', 'wq', keyFile], { HOME: dir });
          if (code !== 0) throw new Error(`vim exited ${code}`);
        } else {
          await rename(keyFile, `${keyFile}~`);
          await writeFile(keyFile, next + '\n', { mode: 0o600 });
          await unlink(`${keyFile}~`);
        }
      });
      expect((await stat(keyFile)).ino, 'the save replaced the file').to.not.equal(inode);
    }
  });

  it('files written on Windows: UTF-8 BOM + CRLF, UTF-16LE BOM + CRLF', async () => {
    await start();
    const bom8 = freshKey();
    await expectSwap('UTF-8 BOM + CRLF', bom8, () => writeFile(keyFile, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${bom8}\r\n`)])));
    const utf16 = freshKey();
    await expectSwap('UTF-16LE BOM + CRLF', utf16, () => writeFile(keyFile, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${utf16}\r\n`, 'utf16le')])));
    expect((await health(server, utf16)).key.fingerprint).to.equal(fingerprint(utf16));
  });

  it('the key directory removed and re-created', async () => {
    await start();
    for (let i = 0; i < 2; i++) {
      const from = server.lines().length;
      await rm(keyDir, { recursive: true });
      await logged(server, from, (l) => l.reason === 'KEY_MISSING');
      expect(await accepts(server, current)).to.equal(true);
      expect(await readyz()).to.equal(200);
      const next = freshKey();
      await expectSwap('directory re-created', next, async () => {
        await mkdir(keyDir);
        await writeFile(keyFile, next + '\n', { mode: 0o600 });
      });
    }
  });

  it('a storm of 300 rotations, then pairs 0–20 ms apart: the last write wins within 1 s', async () => {
    await start();
    const old = current;
    const keys = Array.from({ length: 300 }, () => freshKey());
    const storm = await swap(server, old, keys.at(-1)!, async () => {
      let last = 0;
      for (const key of keys) {
        last = Date.now();
        await renameInto(key);
      }
      return last;
    });
    latencies.add('storm: last of 300 renames', storm.latencyMs);
    expect(storm.latencyMs).to.be.below(1000);
    current = keys.at(-1)!;
    // Nothing read later (the burst's settle re-check, a late event) puts an older key back.
    expect(await holds(() => accepts(server, current), 300)).to.equal(true);
    expect(await accepts(server, keys.at(-2)!)).to.equal(false);
    for (const gap of [0, 1, 2, 5, 10, 15, 20]) {
      const [first, second] = [freshKey(), freshKey()];
      const pair = await swap(server, current, second, async () => {
        await renameInto(first);
        if (gap > 0) await new Promise((r) => setTimeout(r, gap)); // spacing the writes, not waiting for a result
        const at = Date.now();
        await renameInto(second);
        return at;
      });
      latencies.add(`pair ${String(gap).padStart(2)} ms apart: second write`, pair.latencyMs);
      expect(pair.latencyMs, `pair ${gap} ms apart`).to.be.below(1000);
      expect(await accepts(server, first)).to.equal(false);
      current = second;
    }
    expect(await holds(() => accepts(server, current), 300)).to.equal(true);
  });

  it('a broken file (inner spaces, 1 MB) keeps the last good key', async () => {
    await start();
    for (const [content, reason] of [['qwk_ two words\n', 'KEY_INVALID_CHARS'], ['A'.repeat(1024 * 1024), 'KEY_TOO_LARGE']] as const) {
      const from = server.lines().length;
      await writeFile(keyFile, content);
      await logged(server, from, (l) => l.level === 'error' && l.reason === reason);
      expect(await accepts(server, current), reason).to.equal(true);
      expect(await readyz()).to.equal(200);
      const { lastReload } = await health(server, current);
      expect([lastReload?.outcome, lastReload?.reason]).to.deep.equal(['rejected', reason]);
    }
    const next = freshKey();
    await expectSwap('good key after a broken file', next, () => renameInto(next));
  });
});
