import { expect } from 'chai';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprint } from '../../src/core/key.js';
import { tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import {
  acceptedWithin, accepts, activeKeyOf, health, historyLines, keyFrom, logged, manageKey, metric, refusal, startServer,
} from './harness.js';

// Issue 4's rotation windows, end to end: the real CLI rotates, the real server decides, and a
// client over HTTP sees each window open at once and close within a second of its end.

/** The key file's setting up: a temp dir whose `api/.api_key` the CLI manages with default paths. */
async function keyDir(): Promise<{ dir: string; keyFile: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir();
  await mkdir(join(dir, 'api'), { mode: 0o700 });
  return { dir, keyFile: join(dir, 'api', '.api_key'), cleanup };
}

/** Rotates with the CLI and waits (≤ 1 s from the new file's mtime) for the server to accept the new key. */
async function rotateAndPickUp(server: ServerProcess, dir: string, keyFile: string, args: string[] = []): Promise<string> {
  const key = await keyFrom(['rotate', ...args], dir);
  expect(await acceptedWithin(server, key, (await stat(keyFile)).mtimeMs), 'pickup latency').to.be.below(1000);
  return key;
}

/** When the history says the latest rotation happened (second resolution, as written). */
async function lastRotation(keyFile: string): Promise<number> {
  return (await historyLines(keyFile)).filter((l) => l.action === 'Rotated (new)').at(-1)!.time;
}

/** The end of the latest per-rotation window (`Grace until`, exact to the ms). */
async function lastGraceUntil(keyFile: string): Promise<number> {
  const line = (await historyLines(keyFile)).filter((l) => l.action.startsWith('Grace until ')).at(-1)!;
  return Date.parse(line.action.slice('Grace until '.length));
}

/** Asserts `key` stays accepted until `until` and is refused within 1 s after; resolves to how often it was accepted meanwhile. */
async function windowEnds(server: ServerProcess, key: string, until: number): Promise<number> {
  const { at, acceptedBefore } = await refusal(server, key, until + 1500);
  expect(at - until, 'refusal time minus window end (ms)').to.be.within(0, 1000);
  return acceptedBefore;
}

describe('integration: rotation windows with the real CLI and server', function () {
  this.timeout(20_000);
  let cleanup: (() => Promise<void>) | undefined;
  const servers: ServerProcess[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
    await cleanup?.();
    cleanup = undefined;
  });
  const serve = async (keyFile: string, args: string[]) => {
    const server = await startServer(keyFile, args);
    servers.push(server);
    return server;
  };

  it('server --grace 2s: both keys accepted after rotate, the old one refused within 1 s of the end; --grace 3s on rotate lengthens it', async () => {
    const k = await keyDir();
    cleanup = k.cleanup;
    const first = await keyFrom(['generate'], k.dir);
    const server = await serve(k.keyFile, ['--grace', '2s']);

    const second = await rotateAndPickUp(server, k.dir, k.keyFile);
    expect(await accepts(server, first), 'old key inside the window').to.equal(true);
    const until = (await lastRotation(k.keyFile)) + 2000;
    expect((await health(server, second)).previousKey).to.deep.equal({ fingerprint: fingerprint(first), until: new Date(until).toISOString(), active: true });
    const usedMeanwhile = await windowEnds(server, first, until);
    expect(await metric(server, second, 'qwen_auth_previous_key_total'), 'requests counted as previous-key').to.equal(1 + usedMeanwhile);
    expect((await health(server, second)).previousKey?.active).to.equal(false);
    expect(await metric(server, second, 'qwen_previous_key_active')).to.equal(0);

    // A longer per-rotation window wins over the server's 2 s.
    const third = await rotateAndPickUp(server, k.dir, k.keyFile, ['--grace', '3s']);
    const graceUntil = await lastGraceUntil(k.keyFile);
    expect(graceUntil - (await lastRotation(k.keyFile)), 'window set by rotate --grace 3s').to.be.within(3000, 4000);
    expect((await health(server, third)).previousKey).to.deep.equal({ fingerprint: fingerprint(second), until: new Date(graceUntil).toISOString(), active: true });
    expect(await metric(server, third, 'qwen_previous_key_active')).to.equal(1);
    await windowEnds(server, second, graceUntil);
    expect(await accepts(server, third)).to.equal(true);
  });

  it('server --grace 1h: rotate --grace 1s shortens the window, rotate --revoke ends it at once', async () => {
    const k = await keyDir();
    cleanup = k.cleanup;
    const first = await keyFrom(['generate'], k.dir);
    const server = await serve(k.keyFile, ['--grace', '1h']);

    const second = await rotateAndPickUp(server, k.dir, k.keyFile);
    expect(await accepts(server, first), 'server default window').to.equal(true);
    expect((await health(server, second)).previousKey!.until).to.equal(new Date((await lastRotation(k.keyFile)) + 3_600_000).toISOString());

    const third = await rotateAndPickUp(server, k.dir, k.keyFile, ['--grace', '1s']);
    expect(await accepts(server, first), 'only the immediately previous key is kept').to.equal(false);
    expect(await accepts(server, second)).to.equal(true);
    await windowEnds(server, second, await lastGraceUntil(k.keyFile));

    const fourth = await rotateAndPickUp(server, k.dir, k.keyFile, ['--revoke']);
    expect(await accepts(server, third), 'revoked key, right as the new key is in force').to.equal(false);
    expect((await health(server, fourth)).previousKey?.active ?? false).to.equal(false);
  });

  describe('rotate after the key file was emptied by hand', () => {
    // The server keeps its last good key when the key file empties; rotate replaces that key, the history's current one.
    async function emptiedUnderServer(): Promise<{ k: Awaited<ReturnType<typeof keyDir>>; server: ServerProcess; first: string }> {
      const k = await keyDir();
      cleanup = k.cleanup;
      const first = await keyFrom(['generate'], k.dir);
      const server = await serve(k.keyFile, []);
      const from = server.lines().length;
      await writeFile(k.keyFile, '\n');
      await logged(server, from, (l) => l.level === 'error' && l.reason === 'KEY_EMPTY');
      return { k, server, first };
    }

    it('rotate --grace 1h keeps the key the server kept in force valid beside the new one', async () => {
      const { k, server, first } = await emptiedUnderServer();
      expect(await accepts(server, first), 'the server kept its last good key').to.equal(true);
      const rotated = await manageKey(['rotate', '--grace', '1h'], k.dir);
      expect(rotated.code, rotated.stderr).to.equal(0);
      expect(rotated.stderr).to.include(`replaced the history's current key ${fingerprint(first)}`);
      const second = rotated.stdout.trim();
      await acceptedWithin(server, second, (await stat(k.keyFile)).mtimeMs);
      expect(await accepts(server, first), 'the old key inside its window').to.equal(true);
      expect((await health(server, second)).previousKey).to.deep.equal({
        fingerprint: fingerprint(first), until: new Date(await lastGraceUntil(k.keyFile)).toISOString(), active: true,
      });
    });

    it('rotate --revoke ends the key the server kept in force as the new one comes in', async () => {
      const { k, server, first } = await emptiedUnderServer();
      const second = await keyFrom(['rotate', '--revoke'], k.dir);
      await acceptedWithin(server, second, (await stat(k.keyFile)).mtimeMs);
      expect(await accepts(server, first), 'the revoked key').to.equal(false);
    });
  });

  it('a server restarted inside a window accepts the old key until the window ends (derived from the files)', async () => {
    const k = await keyDir();
    cleanup = k.cleanup;
    const first = await keyFrom(['generate'], k.dir);
    const before = await serve(k.keyFile, []);
    // A per-rotation window survives a restart, even onto a server whose own default differs.
    const second = await rotateAndPickUp(before, k.dir, k.keyFile, ['--grace', '10m']);
    await before.stop();
    const restarted = await serve(k.keyFile, ['--grace', '3s']);
    expect(await accepts(restarted, first)).to.equal(true);
    expect((await health(restarted, second)).previousKey!.until).to.equal(new Date(await lastGraceUntil(k.keyFile)).toISOString());

    // The server's default window counts from the rotation in the history, not from the restart.
    const third = await rotateAndPickUp(restarted, k.dir, k.keyFile);
    await restarted.stop();
    const again = await serve(k.keyFile, ['--grace', '3s']);
    const until = (await lastRotation(k.keyFile)) + 3000;
    expect((await health(again, third)).previousKey).to.deep.equal({ fingerprint: fingerprint(second), until: new Date(until).toISOString(), active: true });
    await windowEnds(again, second, until);
    expect(await accepts(again, first)).to.equal(false);
  });

  it('after mixed rotations the key in force is the latest Generated / Rotated (new), and manage-key status agrees with the server', async () => {
    const k = await keyDir();
    cleanup = k.cleanup;
    const keys = [await keyFrom(['generate'], k.dir)];
    const server = await serve(k.keyFile, ['--grace', '1h']);
    const steps = [['rotate'], ['rotate', '--grace', '10m'], ['rotate', '--revoke'], ['generate', '--force'], ['rotate'], ['rotate', '--grace', '0'], ['rotate']];
    for (const step of steps) {
      const name = step.join(' ');
      const printed = await keyFrom(step, k.dir);
      keys.push(printed);
      const active = activeKeyOf(await historyLines(k.keyFile))!.key;
      expect(active === printed, `${name}: history's active key is the printed one`).to.equal(true);
      expect(active === (await readFile(k.keyFile, 'utf8')).trim(), `${name}: history's active key is the key file's`).to.equal(true);
      await acceptedWithin(server, active, (await stat(k.keyFile)).mtimeMs);

      const status = await manageKey(['status', '--json', '--grace', '1h'], k.dir);
      expect(status.code, status.stderr).to.equal(0);
      const said = JSON.parse(status.stdout) as { current: { fingerprint: string }; previous: { fingerprint: string; until: string; valid: boolean } | null };
      const seen = await health(server, active);
      expect(said.current.fingerprint, `${name}: current key`).to.equal(seen.key.fingerprint);
      const previous = said.previous && keys.find((key) => fingerprint(key) === said.previous!.fingerprint);
      const validPrevious = said.previous?.valid ? previous : undefined;
      if (said.previous) expect(await accepts(server, previous!), `${name}: previous key accepted as status says`).to.equal(said.previous.valid);
      if (validPrevious) {
        expect(seen.previousKey, `${name}: health's previous key`).to.deep.equal({ fingerprint: said.previous!.fingerprint, until: said.previous!.until, active: true });
      } else {
        expect(seen.previousKey?.active ?? false, `${name}: no previous key in health`).to.equal(false);
      }
      for (const key of keys.filter((key) => key !== active && key !== validPrevious)) {
        expect(await accepts(server, key), `${name}: older key ${fingerprint(key)}`).to.equal(false);
      }
    }
  });
});
