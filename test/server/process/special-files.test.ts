import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { appendFile, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { eventually, keyFileWith, registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';

const ARGS = ['--port', '0', '--host', '127.0.0.1', '--auth-fail-limit', 'off'];

function freshKey(): string {
  const key = generateKey();
  registerSecret(key);
  return key;
}

/** The process's resident memory now, in MiB (Linux). */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

/** Sends SIGHUP and waits until the reload it asked for has been counted. */
async function reloadNow(server: ServerProcess, key: string): Promise<void> {
  const checks = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': key } });
    return Number(/^qwen_key_file_checks_total (\d+)$/m.exec(await res.text())?.[1]);
  };
  const before = await checks();
  server.child.kill('SIGHUP');
  await eventually(async () => (await checks()) > before, 5000, 10);
}

// FIFOs and absurd files where the key file or the history should be: the daemon keeps reloading and always stops.
describe('server process: special files at the key file and the history', function () {
  this.timeout(30_000);
  let cleanup: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  before(function () {
    if (process.platform !== 'linux') this.skip(); // FIFOs via mkfifo and memory via /proc
  });
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
    await cleanup?.();
  });

  // Regression: with a FIFO from the start the server hung before it listened.
  it('starts with a FIFO at the key file: listens, answers /readyz 503, rejects KEY_NOT_REGULAR, and exits on SIGTERM', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const keyFile = join(dir, '.api_key');
    execFileSync('mkfifo', [keyFile]);
    server = await spawnServer({ args: [...ARGS, '--key-file', keyFile] });
    expect(await statusOf(`${server.url}/readyz`)).to.equal(503);
    const rejected = server.lines().find((l) => l.message === 'key file rejected; not ready until it holds a valid key');
    expect(rejected?.reason).to.equal('KEY_NOT_REGULAR');
    const started = Date.now();
    expect(await server.stop('SIGTERM', 10_000)).to.deep.equal({ code: 0, signal: null });
    expect(Date.now() - started).to.be.below(5000);
  });

  // Regression: a FIFO swapped in froze the reload chain for good, and SIGTERM logged "stopped" but never exited.
  it('keeps the last key when FIFOs are swapped in while it runs, loads the next real key, and exits on SIGTERM', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const [first, second] = [freshKey(), freshKey()];
    const keyFile = await keyFileWith(dir, first);
    server = await spawnServer({ args: [...ARGS, '--key-file', keyFile] });
    const health = `${server.url}/api/v1/health`;
    await rm(keyFile);
    execFileSync('mkfifo', [keyFile]);
    execFileSync('mkfifo', [`${keyFile}_history`]);
    await server.waitForLine((l) => l.message === 'key file rejected; keeping the last good key' && l.reason === 'KEY_NOT_REGULAR', 5000);
    expect(await statusOf(health, first)).to.equal(200);
    expect(await statusOf(`${server.url}/readyz`), 'the last good key is still in force').to.equal(200);
    await writeKeyFile(keyFile, second);
    await eventually(async () => (await statusOf(health, second)) === 200, 5000);
    expect(server.lines().some((l) => l.message === 'history unreadable; previous-key windows from memory only' && l.reason === 'HISTORY_NOT_REGULAR'))
      .to.equal(true);
    const started = Date.now();
    expect(await server.stop('SIGTERM', 10_000)).to.deep.equal({ code: 0, signal: null });
    expect(Date.now() - started).to.be.below(5000);
  });

  // Regression: a sparse 200 MB history made the resident memory cycle between 0.5 and 1.1 GB.
  it('keeps its memory near idle with a sparse history of 300 MB, re-read many times', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const key = freshKey();
    const keyFile = await keyFileWith(dir, key);
    await appendFile(`${keyFile}_history`, '');
    server = await spawnServer({ args: [...ARGS, '--key-file', keyFile] });
    const pid = server.child.pid!;
    await reloadNow(server, key);
    const idle = await rssMiB(pid);
    const handle = await open(`${keyFile}_history`, 'r+');
    try {
      await handle.truncate(300 * 1024 * 1024);
    } finally {
      await handle.close();
    }
    let peak = idle;
    for (let i = 0; i < 8; i++) {
      await reloadNow(server, key);
      peak = Math.max(peak, await rssMiB(pid));
    }
    expect(peak - idle, `resident memory above idle (${idle.toFixed(1)} MiB), MiB`).to.be.below(30);
    expect(await statusOf(`${server.url}/api/v1/health`, key)).to.equal(200);
  });
});
