import { expect } from 'chai';
import { appendFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatStamp } from '../../src/core/history.js';
import { fingerprint } from '../../src/core/key.js';
import { eventually, tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { accepts, freshKey, health, historyLines, keyFrom, metric, startServer } from './harness.js';

/** Sends SIGHUP and waits until that reload has been counted, so what follows sees its result. */
async function reloadNow(server: ServerProcess, key: string): Promise<void> {
  const before = await metric(server, key, 'qwen_key_file_checks_total');
  server.child.kill('SIGHUP');
  await eventually(async () => (await metric(server, key, 'qwen_key_file_checks_total')) > before, 5000, 10);
}

const DAY_MS = 86_400_000;

// The daemon and the CLI together, against a history someone else could write: what the daemon believes of it.
describe('integration: what the daemon believes of the history', function () {
  this.timeout(30_000);
  let server: ServerProcess | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await cleanup?.();
  });
  const setUp = async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    // The directory a server runs in has api/ (generate refuses elsewhere).
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    return { dir, keyFile: join(dir, 'api', '.api_key') };
  };

  // Regression: appending these three lines made a key of the attacker's choosing valid until 2099.
  it('opens no window for a key the history\'s own chain never held, whatever lines are appended', async () => {
    const { dir, keyFile } = await setUp();
    const key = await keyFrom(['generate'], dir);
    server = await startServer(keyFile, ['--grace', '1h']);
    const attacker = freshKey();
    const stamp = formatStamp(new Date());
    await appendFile(`${keyFile}_history`, [
      `${stamp} | Rotated (replaced) | ${attacker}`,
      `${stamp} | Rotated (new) | ${key}`,
      `${stamp} | Grace until 2099-01-01T00:00:00.000Z | ${attacker}`,
    ].map((l) => l + '\n').join(''));
    await reloadNow(server, key);
    expect(await accepts(server, attacker), 'the attacker\'s key').to.equal(false);
    expect((await health(server, key)).previousKey).to.equal(undefined);
  });

  // Regression: a `Grace until 2099-...` line for the previous key kept it valid until 2099.
  it('cuts a window longer than --max-grace (default 7d) to it, with one error line', async () => {
    const { dir, keyFile } = await setUp();
    const old = await keyFrom(['generate'], dir);
    await keyFrom(['rotate', '--grace', '1h'], dir);
    const rotatedAt = (await historyLines(keyFile)).find((l) => l.action === 'Rotated (new)')!.time;
    await appendFile(`${keyFile}_history`, `${formatStamp(new Date(rotatedAt))} | Grace until 2099-01-01T00:00:00.000Z | ${old}\n`);
    server = await startServer(keyFile);
    const key = await keyFrom(['show'], dir);
    expect(await accepts(server, old), 'the old key inside the cut window').to.equal(true);
    expect((await health(server, key)).previousKey).to.deep.include({ fingerprint: fingerprint(old), until: new Date(rotatedAt + 7 * DAY_MS).toISOString() });
    const cut = server.lines().filter((l) => l.message === 'history window longer than --max-grace; cut to it');
    expect(cut.length).to.equal(1);
    expect(cut[0]).to.include({ level: 'error', previous: fingerprint(old), maxGrace: '7d' });
  });

  it('honours no window from a history others can write, says so once, and again when it is fixed', async () => {
    const { dir, keyFile } = await setUp();
    const old = await keyFrom(['generate'], dir);
    const key = await keyFrom(['rotate', '--grace', '1h'], dir);
    await chmod(`${keyFile}_history`, 0o620);
    server = await startServer(keyFile);
    expect(await accepts(server, old), 'the old key, from a history others can write').to.equal(false);
    const alarm = (l: Record<string, unknown>) => l.message === 'key files writable by others; windows from the history are not honoured';
    const first = server.lines().filter(alarm);
    expect(first.length).to.equal(1);
    expect(first[0]).to.include({ level: 'error' });
    expect(first[0]!.paths).to.deep.equal([`${keyFile}_history`]);
    const body = await health(server, key) as unknown as { fileTrust: { ok: boolean; writableByOthers: Array<{ path: string; role: string }> } };
    expect(body.fileTrust.ok).to.equal(false);
    expect(body.fileTrust.writableByOthers.map((f) => [f.role, f.path])).to.deep.equal([['history', `${keyFile}_history`]]);
    expect(await metric(server, key, 'qwen_key_files_writable_by_others')).to.equal(1);
    for (let i = 0; i < 3; i++) await reloadNow(server, key);
    expect(server.lines().filter(alarm).length, 'error lines after more re-reads').to.equal(1);

    await chmod(`${keyFile}_history`, 0o600);
    await reloadNow(server, key);
    expect(server.lines().filter((l) => l.message === 'key files no longer writable by others').length).to.equal(1);
    expect(await accepts(server, old), 'the old key, once only its owner can write the history').to.equal(true);
    expect((await health(server, key) as unknown as { fileTrust: { ok: boolean } }).fileTrust.ok).to.equal(true);
    expect(await metric(server, key, 'qwen_key_files_writable_by_others')).to.equal(0);
  });
});
