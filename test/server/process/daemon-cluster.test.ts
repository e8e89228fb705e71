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

// One cluster for the whole block, started once (a first run) and stopped by the last test: the tests run in order.
describe('workers: the daemon with --workers 2 (real processes)', function () {
  this.timeout(20_000);
  let cleanup: () => Promise<void>;
  let keyFile: string;
  let server: ServerProcess;
  let current: string;
  let upstream: ReturnType<typeof createServer>;
  let upstreamHit: () => void = () => {};
  const lines = (match: (l: Line) => boolean): Line[] => server.lines().filter(match);
  const waitForLines = async (match: (l: Line) => boolean, count: number, timeoutMs = 8000): Promise<Line[]> => {
    await eventually(() => lines(match).length >= count, timeoutMs);
    return lines(match);
  };
  const workerPids = (): number[] => lines((l) => l.message === 'listening').map((l) => Number(l.pid));
  const livePids = (): number[] => workerPids().filter(alive);
  const keyLoaded = (key: string) => (l: Line): boolean => l.message === 'key loaded' && l.fingerprint === fingerprint(key);

  /** Requests with `key` on fresh connections until every pid in `pids` has answered; every answer must be 200. */
  async function answeredByAll(key: string, pids: number[], timeoutMs = 3000): Promise<void> {
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
  }

  before(async function () {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    // Forwarded edits are slow, so one is surely in flight at SIGTERM; the health probe is answered at once.
    upstream = createServer((req, res) => {
      if (!req.url?.includes('/edit')) return void res.end('{}');
      upstreamHit();
      setTimeout(() => res.end('{"slow":true}'), 500);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    // No key anywhere: both workers start on a first run at once.
    server = await spawnServer({
      args: ['--workers', '2', '--port', '0', '--key-file', keyFile, '--grace', '30s', '--log-level', 'http', '--upstream', upstreamUrl],
    });
    await waitForLines((l) => l.message === 'listening', 2);
  });
  after(async function () {
    await server?.stop('SIGKILL');
    for (const pid of server ? livePids() : []) process.kill(pid, 'SIGKILL');
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    await cleanup();
  });

  it('shares one port, generates exactly one key on a first run, and every worker serves it', async () => {
    const listening = lines((l) => l.message === 'listening');
    expect(new Set(listening.map((l) => l.port)).size).to.equal(1);
    expect(new Set(workerPids()).size).to.equal(2);
    current = await readKeyFile(keyFile);
    registerSecret(current);
    const { entries } = await readHistory(historyPathFor(keyFile));
    expect(entries.map((e) => e.action)).to.deep.equal([Action.generated]);
    const loaded = lines(keyLoaded(current));
    expect(loaded.map((l) => Number(l.pid)).sort()).to.deep.equal(workerPids().sort());
    await answeredByAll(current, workerPids());
  });

  it('keeps the key and the watch out of the primary: each worker loads and watches on its own', async () => {
    const primary = server.child.pid!;
    expect(lines((l) => l.message === 'key loaded' && !workerPids().includes(Number(l.pid)))).to.deep.equal([]);
    const watching = await Promise.all([primary, ...workerPids()].map(watchesFiles));
    if (watching[0] === undefined) return; // no /proc here
    expect(watching).to.deep.equal([false, true, true]);
  });

  it('switches every worker to a key rotated by the CLI within a second, with the same grace window in each', async () => {
    const previous = current;
    const rotated = await runCli(['rotate', '--key-file', keyFile], { cwd: join(keyFile, '..') });
    expect(rotated.code).to.equal(0);
    const rotatedAt = Date.now();
    current = rotated.stdout.trim();
    registerSecret(current);
    const switched = await waitForLines(keyLoaded(current), 2, 1000);
    expect(Date.now() - rotatedAt).to.be.below(1000);
    // From the rename (the new file's write time) to each worker's swap.
    const writtenAt = (await stat(keyFile)).mtimeMs;
    for (const l of switched) expect(Date.parse(String(l.timestamp)) - writtenAt).to.be.below(1000);
    expect(switched.map((l) => Number(l.pid)).sort()).to.deep.equal(livePids().sort());
    // The window comes from the history, not from each worker's clock.
    const untils = new Set(switched.map((l) => l.previousUntil));
    expect(untils.size).to.equal(1);
    expect([...untils][0]).to.be.a('string');
    await answeredByAll(current, livePids());
    await answeredByAll(previous, livePids());
  });

  it('forwards SIGHUP to every worker', async () => {
    const pids = livePids();
    server.child.kill('SIGHUP');
    const reloads = await waitForLines((l) => l.message === 'reload requested', 2, 3000);
    expect(reloads.map((l) => Number(l.pid)).sort()).to.deep.equal(pids.sort());
  });

  it('restarts a killed worker, which loads the current key and window from the files and serves', async () => {
    const [victim, survivor] = livePids();
    const window = lines(keyLoaded(current)).find((l) => Number(l.pid) === survivor)!.previousUntil;
    process.kill(victim!, 'SIGKILL');
    await waitForLines((l) => l.message === 'worker died' && Number(l.pid) === victim, 1, 3000);
    const listening = await waitForLines((l) => l.message === 'listening', 3);
    const replacement = Number(listening[2]!.pid);
    expect([victim, survivor]).not.to.include(replacement);
    expect(listening[2]!.port).to.equal(listening[0]!.port);
    const loaded = lines(keyLoaded(current)).find((l) => Number(l.pid) === replacement);
    expect(loaded?.previousUntil).to.equal(window);
    await answeredByAll(current, [survivor!, replacement]);
  });

  it('on SIGTERM to the whole group lets a request in flight finish, stops every worker and exits 0', async () => {
    const pids = livePids();
    const arrived = new Promise<void>((resolve) => { upstreamHit = resolve; });
    const inFlight = get(server.port, '/api/v1/edit', current);
    await arrived;
    server.child.kill('SIGTERM');
    // A service manager stopping the whole group signals each worker too: that repeat must not cut the drain.
    await waitForLines((l) => l.message === 'shutting down', 2, 3000);
    for (const pid of pids) signalIfAlive(pid, 'SIGTERM');
    expect((await inFlight).status).to.equal(200);
    expect((await server.exited).code).to.equal(0);
    const stopped = lines((l) => l.message === 'worker stopped');
    expect(stopped.map((l) => Number(l.pid)).sort()).to.deep.equal(pids.sort());
    expect(stopped.map((l) => l.code)).to.deep.equal([0, 0]);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(lines((l) => l.message === 'restarting worker')).to.have.length(1); // only the one killed above
  });
});
