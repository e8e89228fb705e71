import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readdir, readlink, stat } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Action, historyPathFor } from '../../../src/core/history.js';
import { readHistory } from '../../../src/core/history-file.js';
import { fingerprint } from '../../../src/core/key.js';
import { readKeyFile } from '../../../src/core/key-file.js';
import { runCli } from '../../cli/processes.js';
import { eventually, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';

type Line = Record<string, unknown>;

/** GET `path` over a fresh connection, so the primary may hand it to any worker; resolves to status and request id. */
function get(port: number, path: string, key: string): Promise<{ status: number; id: string }> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false, headers: { 'X-API-Key': key, 'X-Request-Id': id } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, id }));
    }).on('error', reject).end();
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Sends `signal` to `pid` unless it has already exited (a worker with nothing to drain may be gone). */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Whether `pid` holds an inotify descriptor, i.e. watches files; undefined without /proc. */
async function watchesFiles(pid: number): Promise<boolean | undefined> {
  const dir = `/proc/${pid}/fd`;
  const fds = await readdir(dir).catch(() => undefined);
  if (!fds) return undefined;
  const targets = await Promise.all(fds.map((fd) => readlink(join(dir, fd)).catch(() => '')));
  return targets.some((t) => t.includes('inotify'));
}

/** A daemon started with --workers 2 on a first run (no key anywhere), with a slow upstream, and its log. */
interface DaemonCluster {
  server: ServerProcess;
  keyFile: string;
  /** Called when the upstream receives an edit (which it answers after 500 ms). */
  onEdit: (hit: () => void) => void;
  lines(match: (l: Line) => boolean): Line[];
  waitForLines(match: (l: Line) => boolean, count: number, timeoutMs?: number): Promise<Line[]>;
  workerPids(): number[];
  livePids(): number[];
  /** Requests with `key` on fresh connections until every pid in `pids` has answered; every answer must be 200. */
  answeredByAll(key: string, pids: number[], timeoutMs?: number): Promise<void>;
}

const keyLoaded = (key: string) => (l: Line): boolean => l.message === 'key loaded' && l.fingerprint === fingerprint(key);

// Each test starts its own cluster, so each holds alone and in any order.
describe('workers: the daemon with --workers 2 (real processes)', function () {
  this.timeout(20_000);
  let cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups = [];
  });

  async function startCluster(): Promise<DaemonCluster> {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const keyFile = join(dir, 'api', '.api_key');
    // Forwarded edits are slow, so one is surely in flight at SIGTERM; the health probe is answered at once.
    let editHit: () => void = () => {};
    const upstream = createServer((req, res) => {
      if (!req.url?.includes('/edit')) return void res.end('{}');
      editHit();
      setTimeout(() => res.end('{"slow":true}'), 500);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    });
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const server = await spawnServer({
      args: ['--workers', '2', '--port', '0', '--key-file', keyFile, '--grace', '30s', '--log-level', 'http', '--upstream', upstreamUrl],
    });
    const lines = (match: (l: Line) => boolean): Line[] => server.lines().filter(match);
    const workerPids = (): number[] => lines((l) => l.message === 'listening').map((l) => Number(l.pid));
    const livePids = (): number[] => workerPids().filter(alive);
    cleanups.push(async () => {
      await server.stop('SIGKILL');
      for (const pid of livePids()) process.kill(pid, 'SIGKILL');
    });
    const waitForLines = async (match: (l: Line) => boolean, count: number, timeoutMs = 8000): Promise<Line[]> => {
      await eventually(() => lines(match).length >= count, timeoutMs);
      return lines(match);
    };
    await waitForLines((l) => l.message === 'listening', 2);
    const answeredByAll = async (key: string, pids: number[], timeoutMs = 3000): Promise<void> => {
      const ids = new Map<string, number>();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { status, id } = await get(server.port, '/api/v1/health', key);
        ids.set(id, status);
        expect(status, 'a worker refused the key').to.equal(200);
        // Each worker's access line carries its pid.
        const seen = new Set(lines((l) => l.message === 'request' && ids.has(String(l.requestId))).map((l) => Number(l.pid)));
        if (pids.every((pid) => seen.has(pid))) return;
        if (Date.now() > deadline) throw new Error(`not every worker answered: want ${pids.join(',')}, saw ${[...seen].join(',')}`);
      }
    };
    return { server, keyFile, onEdit: (hit) => { editHit = hit; }, lines, waitForLines, workerPids, livePids, answeredByAll };
  }

  /** The key the cluster generated on its first run, once every worker loaded it. */
  async function firstKey(c: DaemonCluster): Promise<string> {
    const key = await readKeyFile(c.keyFile);
    registerSecret(key);
    await c.waitForLines(keyLoaded(key), 2);
    return key;
  }

  /** Rotates with the CLI; resolves once both workers loaded the new key, with the new key and their lines. */
  async function rotate(c: DaemonCluster): Promise<{ key: string; rotatedAt: number; switched: Line[] }> {
    const rotated = await runCli(['rotate', '--key-file', c.keyFile], { cwd: join(c.keyFile, '..') });
    expect(rotated.code, rotated.stderr).to.equal(0);
    const rotatedAt = Date.now();
    const key = rotated.stdout.trim();
    registerSecret(key);
    return { key, rotatedAt, switched: await c.waitForLines(keyLoaded(key), 2, 1000) };
  }

  it('shares one port, generates exactly one key on a first run, and every worker serves it', async () => {
    const c = await startCluster();
    const listening = c.lines((l) => l.message === 'listening');
    expect(new Set(listening.map((l) => l.port)).size).to.equal(1);
    expect(new Set(c.workerPids()).size).to.equal(2);
    const current = await firstKey(c);
    const { entries } = await readHistory(historyPathFor(c.keyFile));
    expect(entries.map((e) => e.action)).to.deep.equal([Action.generated]);
    const loaded = c.lines(keyLoaded(current));
    expect(loaded.map((l) => Number(l.pid)).sort()).to.deep.equal(c.workerPids().sort());
    await c.answeredByAll(current, c.workerPids());
  });

  it('keeps the key and the watch out of the primary: each worker loads and watches on its own', async function () {
    const c = await startCluster();
    await firstKey(c);
    const primary = c.server.child.pid!;
    expect(c.lines((l) => l.message === 'key loaded' && !c.workerPids().includes(Number(l.pid)))).to.deep.equal([]);
    const watching = await Promise.all([primary, ...c.workerPids()].map(watchesFiles));
    if (watching[0] === undefined) this.skip(); // no /proc here: who watches cannot be seen
    expect(watching).to.deep.equal([false, true, true]);
  });

  it('switches every worker to a key rotated by the CLI within a second, with the same grace window in each', async () => {
    const c = await startCluster();
    const previous = await firstKey(c);
    const { key: current, rotatedAt, switched } = await rotate(c);
    expect(Date.now() - rotatedAt).to.be.below(1000);
    // From the rename (the new file's write time) to each worker's swap.
    const writtenAt = (await stat(c.keyFile)).mtimeMs;
    for (const l of switched) expect(Date.parse(String(l.timestamp)) - writtenAt).to.be.below(1000);
    expect(switched.map((l) => Number(l.pid)).sort()).to.deep.equal(c.livePids().sort());
    // The window comes from the history, not from each worker's clock.
    const untils = new Set(switched.map((l) => l.previousUntil));
    expect(untils.size).to.equal(1);
    expect([...untils][0]).to.be.a('string');
    await c.answeredByAll(current, c.livePids());
    await c.answeredByAll(previous, c.livePids());
  });

  it('forwards SIGHUP to every worker', async () => {
    const c = await startCluster();
    const pids = c.livePids();
    c.server.child.kill('SIGHUP');
    const reloads = await c.waitForLines((l) => l.message === 'reload requested', 2, 3000);
    expect(reloads.map((l) => Number(l.pid)).sort()).to.deep.equal(pids.sort());
  });

  it('restarts a killed worker, which loads the current key and window from the files and serves', async () => {
    const c = await startCluster();
    await firstKey(c);
    const { key: current } = await rotate(c);
    const [victim, survivor] = c.livePids();
    const window = c.lines(keyLoaded(current)).find((l) => Number(l.pid) === survivor)!.previousUntil;
    process.kill(victim!, 'SIGKILL');
    await c.waitForLines((l) => l.message === 'worker died' && Number(l.pid) === victim, 1, 3000);
    const listening = await c.waitForLines((l) => l.message === 'listening', 3);
    const replacement = Number(listening[2]!.pid);
    expect([victim, survivor]).not.to.include(replacement);
    expect(listening[2]!.port).to.equal(listening[0]!.port);
    const loaded = (await c.waitForLines((l) => keyLoaded(current)(l) && Number(l.pid) === replacement, 1)).at(-1);
    expect(loaded?.previousUntil).to.equal(window);
    await c.answeredByAll(current, [survivor!, replacement]);
  });

  it('on SIGTERM to the whole group lets a request in flight finish, stops every worker and exits 0', async () => {
    const c = await startCluster();
    const current = await firstKey(c);
    const pids = c.livePids();
    const arrived = new Promise<void>((resolve) => c.onEdit(resolve));
    const inFlight = get(c.server.port, '/api/v1/edit', current);
    await arrived;
    c.server.child.kill('SIGTERM');
    // A service manager stopping the whole group signals each worker too: that repeat must not cut the drain.
    await c.waitForLines((l) => l.message === 'shutting down', 2, 3000);
    for (const pid of pids) signalIfAlive(pid, 'SIGTERM');
    expect((await inFlight).status).to.equal(200);
    expect((await c.server.exited).code).to.equal(0);
    const stopped = c.lines((l) => l.message === 'worker stopped');
    expect(stopped.map((l) => Number(l.pid)).sort()).to.deep.equal(pids.sort());
    expect(stopped.map((l) => l.code)).to.deep.equal([0, 0]);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(c.lines((l) => l.message === 'restarting worker')).to.deep.equal([]);
  });
});
