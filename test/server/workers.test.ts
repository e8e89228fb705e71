// The cluster primary in this process, over a stand-in for node:cluster whose workers the tests make
// listen and exit; test/server/process/workers.test.ts runs the same primary with real processes.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { Cluster } from 'node:cluster';
import { MAX_WORKERS, isClusterPrimary, parseWorkers, runPrimary } from '../../src/server/workers.js';
import type { PrimaryOptions } from '../../src/server/workers.js';
import { captureLogger, periods, waitFor } from './reload/helpers.js';

/** A worker as the primary sees it: a pid, and the signals sent to it. */
class FakeWorker {
  readonly signals: string[] = [];
  readonly process: { pid: number; kill: (signal: string) => void };
  constructor(pid: number) {
    this.process = { pid, kill: (signal) => void this.signals.push(signal) };
  }
}

/** node:cluster as the primary uses it: fork, and the `listening` and `exit` events, which the test emits. */
class FakeCluster extends EventEmitter {
  readonly workers: FakeWorker[] = [];
  fork(): FakeWorker {
    const worker = new FakeWorker(1000 + this.workers.length);
    this.workers.push(worker);
    return worker;
  }
  listen(worker: FakeWorker): void {
    this.emit('listening', worker);
  }
  exit(worker: FakeWorker, code: number | null, signal: string | null = null): void {
    this.emit('exit', worker, code, signal);
  }
}

interface Primary {
  cluster: FakeCluster;
  signals: EventEmitter;
  log: ReturnType<typeof captureLogger>;
  result: Promise<number>;
  /** Set when the primary has resolved. */
  exitCode(): number | undefined;
  lines(message: string): Array<Record<string, unknown>>;
}

function startPrimary(options: Partial<PrimaryOptions> = {}): Primary {
  const cluster = new FakeCluster();
  const signals = new EventEmitter();
  const log = captureLogger();
  let exitCode: number | undefined;
  const result = runPrimary({
    workers: 2, logger: log.logger, signals, cluster: cluster as unknown as Cluster, restartBackoffMs: 1, ...options,
  }).then((code) => (exitCode = code));
  return {
    cluster, signals, log, result,
    exitCode: () => exitCode,
    lines: (message) => log.lines.filter((l) => l.message === message),
  };
}

/** Lets the primary's handlers run (they are synchronous, the resolution is not). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('workers: parseWorkers', () => {
  it('accepts whole numbers from 1 and "auto" as one per core', () => {
    expect(parseWorkers('1', 8)).to.equal(1);
    expect(parseWorkers('3', 8)).to.equal(3);
    expect(parseWorkers(' 4 ', 8)).to.equal(4);
    expect(parseWorkers('auto', 8)).to.equal(8);
    expect(parseWorkers(' AUTO ', 2)).to.equal(2);
    expect(parseWorkers(String(MAX_WORKERS), 2)).to.equal(MAX_WORKERS);
  });

  it('rejects zero, negatives, fractions, words and absurd counts, naming the value and the range', () => {
    for (const bad of ['0', '-1', '1.5', 'two', '', '2x', 'x2', '1025']) {
      expect(() => parseWorkers(bad, 4), bad).to.throw(RangeError, `"${bad}" is not a worker count (1-1024 or auto)`);
    }
  });

  it('counts this machine\'s cores for "auto" by default', () => {
    expect(parseWorkers('auto')).to.be.at.least(1);
  });
});

describe('workers: isClusterPrimary', () => {
  it('is the primary only with more than one worker and in the first process', () => {
    expect(isClusterPrimary(2, { isPrimary: true })).to.equal(true);
    expect(isClusterPrimary(1, { isPrimary: true })).to.equal(false);
    expect(isClusterPrimary(2, { isPrimary: false })).to.equal(false);
  });
});

describe('workers: starting', () => {
  it('forks the workers asked for, each logged with its slot and pid', () => {
    const primary = startPrimary({ workers: 3 });
    expect(primary.cluster.workers).to.have.length(3);
    expect(primary.lines('starting workers')).to.deep.equal([{ level: 'info', message: 'starting workers', workers: 3 }]);
    expect(primary.lines('worker started').map((l) => [l.worker, l.pid])).to.deep.equal([[0, 1000], [1, 1001], [2, 1002]]);
  });

  it('passes SIGHUP on to every worker', () => {
    const primary = startPrimary();
    primary.signals.emit('SIGHUP');
    expect(primary.cluster.workers.map((w) => w.signals)).to.deep.equal([['SIGHUP'], ['SIGHUP']]);
  });
});

describe('workers: stopping', () => {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    it(`on ${signal}, passes it on, waits for every worker, and resolves 0`, async () => {
      const primary = startPrimary();
      const [a, b] = primary.cluster.workers;
      primary.signals.emit(signal, signal);
      expect([a!.signals, b!.signals]).to.deep.equal([[signal], [signal]]);
      expect(primary.lines('stopping workers')).to.deep.equal([{ level: 'info', message: 'stopping workers', signal, workers: 2 }]);
      primary.cluster.exit(a!, 0);
      await settle();
      expect(primary.exitCode()).to.equal(undefined);
      primary.cluster.exit(b!, 0);
      expect(await primary.result).to.equal(0);
      expect(primary.lines('worker stopped').map((l) => [l.worker, l.pid, l.code])).to.deep.equal([[0, 1000, 0], [1, 1001, 0]]);
      expect(primary.lines('all workers stopped')).to.deep.equal([{ level: 'info', message: 'all workers stopped', exitCode: 0 }]);
      expect(primary.lines('restarting worker')).to.deep.equal([]);
    });
  }

  it('passes a repeated signal on only once', () => {
    const primary = startPrimary();
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.signals.emit('SIGINT', 'SIGINT');
    expect(primary.cluster.workers.map((w) => w.signals)).to.deep.equal([['SIGTERM'], ['SIGTERM']]);
  });

  it('stops listening for signals and cluster events once done', async () => {
    const primary = startPrimary({ workers: 1 });
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.cluster.exit(primary.cluster.workers[0]!, 0);
    await primary.result;
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(primary.signals.listenerCount(name), name).to.equal(0);
    expect(primary.cluster.listenerCount('exit') + primary.cluster.listenerCount('listening')).to.equal(0);
  });

  it('kills workers still running after the drain timeout, and resolves 1', async () => {
    const primary = startPrimary({ drainTimeoutMs: 20 });
    const [a, b] = primary.cluster.workers;
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.cluster.exit(a!, 0);
    await waitFor(() => b!.signals.includes('SIGKILL'), 'the kill');
    expect(a!.signals).to.deep.equal(['SIGTERM']);
    expect(primary.lines('workers did not drain in time; killing them')).to.deep.equal([
      { level: 'error', message: 'workers did not drain in time; killing them', workers: 1, drainTimeoutMs: 20 },
    ]);
    primary.cluster.exit(b!, null, 'SIGKILL');
    expect(await primary.result).to.equal(1);
  });

  it('does not kill workers that drain in time', async () => {
    const primary = startPrimary({ drainTimeoutMs: 20 });
    primary.signals.emit('SIGTERM', 'SIGTERM');
    for (const worker of primary.cluster.workers) primary.cluster.exit(worker, 0);
    expect(await primary.result).to.equal(0);
    await periods(20, 3); // the drain timeout, three times over
    expect(primary.cluster.workers.map((w) => w.signals)).to.deep.equal([['SIGTERM'], ['SIGTERM']]);
  });

  it('waits 30 s by default before killing, not a moment', async () => {
    const primary = startPrimary();
    primary.signals.emit('SIGTERM', 'SIGTERM');
    try {
      await periods(1, 10);
      expect(primary.cluster.workers.map((w) => w.signals)).to.deep.equal([['SIGTERM'], ['SIGTERM']]);
    } finally {
      for (const worker of primary.cluster.workers) primary.cluster.exit(worker, 0);
    }
  });
});

describe('workers: restarts', () => {
  it('restarts a worker that died in the same slot, after the initial delay', async () => {
    const primary = startPrimary({ restartBackoffMs: 5 });
    const [a] = primary.cluster.workers;
    primary.cluster.listen(a!);
    primary.cluster.exit(a!, 1, null);
    expect(primary.lines('worker died')).to.deep.equal([{ level: 'error', message: 'worker died', worker: 0, pid: 1000, code: 1, signal: null }]);
    expect(primary.lines('restarting worker')).to.deep.equal([{ level: 'info', message: 'restarting worker', worker: 0, delayMs: 5 }]);
    await waitFor(() => primary.cluster.workers.length === 3, 'the new worker');
    expect(primary.lines('worker started').at(-1)).to.deep.include({ worker: 0, pid: 1002 });
    primary.signals.emit('SIGTERM', 'SIGTERM');
    for (const worker of primary.cluster.workers.slice(1)) primary.cluster.exit(worker, 0);
    expect(await primary.result).to.equal(0);
  });

  it('doubles the delay for each crash in a row, up to the maximum', async () => {
    let now = 0;
    const primary = startPrimary({ workers: 1, restartBackoffMs: 1, maxBackoffMs: 4, stableAfterMs: 1000, clock: () => now });
    primary.cluster.listen(primary.cluster.workers[0]!);
    for (let crash = 1; crash <= 4; crash++) {
      now += 999; // never long enough to count as a stable run
      primary.cluster.exit(primary.cluster.workers.at(-1)!, 1);
      await waitFor(() => primary.cluster.workers.length === crash + 1, `restart ${crash}`);
    }
    expect(primary.lines('restarting worker').map((l) => l.delayMs)).to.deep.equal([1, 2, 4, 4]);
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.cluster.exit(primary.cluster.workers.at(-1)!, 0);
    await primary.result;
  });

  it('starts from the initial delay again after a worker ran long enough to count as stable', async () => {
    let now = 0;
    const primary = startPrimary({ workers: 1, restartBackoffMs: 1, stableAfterMs: 1000, clock: () => now });
    primary.cluster.listen(primary.cluster.workers[0]!);
    primary.cluster.exit(primary.cluster.workers[0]!, 1);
    await waitFor(() => primary.cluster.workers.length === 2, 'the first restart');
    primary.cluster.exit(primary.cluster.workers[1]!, 1);
    await waitFor(() => primary.cluster.workers.length === 3, 'the second restart');
    now += 1000; // exactly the stable run
    primary.cluster.exit(primary.cluster.workers[2]!, 1);
    await waitFor(() => primary.cluster.workers.length === 4, 'the third restart');
    expect(primary.lines('restarting worker').map((l) => l.delayMs)).to.deep.equal([1, 2, 1]);
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.cluster.exit(primary.cluster.workers[3]!, 0);
    await primary.result;
  });

  it('restarts a worker that never listened while another one has', async () => {
    const primary = startPrimary();
    const [a, b] = primary.cluster.workers;
    primary.cluster.listen(a!);
    primary.cluster.exit(b!, 1);
    expect(primary.lines('restarting worker')).to.have.length(1);
    expect(primary.lines('workers cannot start; stopping')).to.deep.equal([]);
    await waitFor(() => primary.cluster.workers.length === 3, 'the new worker');
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.cluster.exit(a!, 0);
    primary.cluster.exit(primary.cluster.workers[2]!, 0);
    expect(await primary.result).to.equal(0);
  });

  it('forks nothing more once stopping, even a restart already scheduled', async () => {
    const primary = startPrimary({ workers: 1, restartBackoffMs: 10 });
    primary.cluster.listen(primary.cluster.workers[0]!);
    primary.cluster.exit(primary.cluster.workers[0]!, 1);
    primary.signals.emit('SIGTERM', 'SIGTERM');
    expect(await primary.result).to.equal(0);
    await periods(10, 3); // the restart's delay, three times over
    expect(primary.cluster.workers).to.have.length(1);
    expect(primary.lines('stopping workers')).to.deep.equal([]);
  });

  it('ignores the exit of a process it did not fork', async () => {
    const primary = startPrimary({ workers: 1 });
    primary.cluster.exit(new FakeWorker(4242), 1);
    expect(primary.log.lines.map((l) => l.message)).to.deep.equal(['starting workers', 'worker started']);
    primary.signals.emit('SIGTERM', 'SIGTERM');
    primary.cluster.exit(primary.cluster.workers[0]!, 0);
    await primary.result;
  });
});

describe('workers: giving up', () => {
  it('stops, without restarting, when a worker dies and none has ever listened; resolves 1', async () => {
    const primary = startPrimary();
    const [a, b] = primary.cluster.workers;
    primary.cluster.exit(a!, 1);
    expect(primary.lines('workers cannot start; stopping')).to.deep.equal([
      { level: 'error', message: 'workers cannot start; stopping', worker: 0, code: 1 },
    ]);
    expect(primary.lines('restarting worker')).to.deep.equal([]);
    expect(b!.signals).to.deep.equal(['SIGTERM']);
    primary.cluster.exit(b!, 0);
    expect(await primary.result).to.equal(1);
  });

  it('resolves 2 when that worker exited 2 (bad configuration)', async () => {
    const primary = startPrimary({ workers: 1 });
    primary.cluster.exit(primary.cluster.workers[0]!, 2);
    expect(await primary.result).to.equal(2);
    expect(primary.lines('all workers stopped')).to.deep.equal([{ level: 'info', message: 'all workers stopped', exitCode: 2 }]);
  });
});
