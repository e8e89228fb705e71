import cluster from 'node:cluster';
import type { Cluster, Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'winston';

/** What the cluster primary needs; only `workers` and `logger` have no default. */
export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Delay before the first restart of a crashed worker; doubles per crash in a row. */
  restartBackoffMs?: number;
  /** Upper bound of the restart delay. */
  maxBackoffMs?: number;
  /** A worker that ran this long before dying is restarted with the initial delay again. */
  stableAfterMs?: number;
  /** Workers still running this long after SIGTERM/SIGINT are killed. */
  drainTimeoutMs?: number;
  cluster?: Cluster;
  /** Where SIGTERM/SIGINT/SIGHUP arrive: the entry point's `process`. */
  signals: NodeJS.EventEmitter;
  /** How long a worker ran is measured with it. */
  clock?: () => number;
}

/** Most workers accepted: a typo such as `--workers 80000` must not fork a process storm. */
export const MAX_WORKERS = 1024;

/** Parses `--workers`/`QWEN_WORKERS`: a whole number from 1 to MAX_WORKERS, or `auto` for one per core. */
export function parseWorkers(text: string, cores: number = availableParallelism()): number {
  if (text.trim().toLowerCase() === 'auto') return cores;
  const count = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(count >= 1 && count <= MAX_WORKERS)) throw new RangeError(`"${text}" is not a worker count (1-${MAX_WORKERS} or auto)`);
  return count;
}

/** True when this process should fork workers instead of serving: more than one worker wanted and not a worker itself. */
export function isClusterPrimary(workers: number, c: Pick<Cluster, 'isPrimary'> = cluster): boolean {
  return workers > 1 && c.isPrimary;
}

interface Slot { index: number; startedAt: number; crashes: number; listened: boolean }

/**
 * Forks `workers` copies of this program sharing the port, restarts any that die (with backoff),
 * forwards SIGHUP, and on SIGTERM/SIGINT forwards the signal and waits for every worker to exit.
 * Resolves with the exit code for the primary: 0 after a clean drain, 1 when workers had to be
 * killed or none could start (2 when the first of them exited 2: bad configuration). The primary
 * never reads keys: each worker loads and watches its own.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const c = options.cluster ?? cluster;
  const { logger: log, workers, signals } = options;
  const initialBackoff = options.restartBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const stableAfter = options.stableAfterMs ?? 10_000;
  const clock = options.clock ?? Date.now;
  const slots = new Map<Worker, Slot>();
  const restarts = new Set<NodeJS.Timeout>();
  let everListened = false;
  let stopping = false;
  let exitCode = 0;
  let drainTimer: NodeJS.Timeout | undefined;

  return new Promise<number>((resolve) => {
    const fork = (index: number, crashes: number): void => {
      const worker = c.fork();
      slots.set(worker, { index, startedAt: clock(), crashes, listened: false });
      log.info('worker started', { worker: index, pid: worker.process.pid });
    };
    const finish = (): void => {
      clearTimeout(drainTimer);
      c.off('exit', onExit);
      c.off('listening', onListening);
      signals.off('SIGTERM', onStop);
      signals.off('SIGINT', onStop);
      signals.off('SIGHUP', onHup);
      log.info('all workers stopped', { exitCode });
      resolve(exitCode);
    };
    const onListening = (worker: Worker): void => {
      const slot = slots.get(worker);
      if (slot) slot.listened = true;
      everListened = true;
    };
    const onExit = (worker: Worker, code: number | null, signal: string | null): void => {
      const slot = slots.get(worker);
      if (!slot) return;
      slots.delete(worker);
      if (stopping) {
        log.info('worker stopped', { worker: slot.index, pid: worker.process.pid, code, signal });
        if (slots.size === 0) finish();
        return;
      }
      log.error('worker died', { worker: slot.index, pid: worker.process.pid, code, signal });
      // A worker that never listened while none ever has points at the set-up, not a crash: restarting would loop.
      if (!slot.listened && !everListened) {
        log.error('workers cannot start; stopping', { worker: slot.index, code });
        // A worker's exit code 2 is bad configuration: the supervisor says the same.
        exitCode = code === 2 ? 2 : 1;
        stop('SIGTERM');
        return;
      }
      const crashes = clock() - slot.startedAt >= stableAfter ? 0 : slot.crashes + 1;
      const delayMs = Math.min(maxBackoff, initialBackoff * 2 ** Math.max(0, crashes - 1));
      log.info('restarting worker', { worker: slot.index, delayMs });
      const timer = setTimeout(() => { restarts.delete(timer); fork(slot.index, crashes); }, delayMs);
      restarts.add(timer);
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      for (const timer of restarts) clearTimeout(timer);
      restarts.clear();
      if (slots.size === 0) { finish(); return; }
      log.info('stopping workers', { signal, workers: slots.size });
      for (const worker of slots.keys()) worker.process.kill(signal);
      drainTimer = setTimeout(() => {
        log.error('workers did not drain in time; killing them', { workers: slots.size, drainTimeoutMs: options.drainTimeoutMs ?? 30_000 });
        exitCode = 1;
        for (const worker of slots.keys()) worker.process.kill('SIGKILL');
      }, options.drainTimeoutMs ?? 30_000);
    };
    const onStop = (signal: NodeJS.Signals): void => stop(signal);
    const onHup = (): void => {
      for (const worker of slots.keys()) worker.process.kill('SIGHUP');
    };

    c.on('exit', onExit);
    c.on('listening', onListening);
    signals.on('SIGTERM', onStop);
    signals.on('SIGINT', onStop);
    signals.on('SIGHUP', onHup);
    log.info('starting workers', { workers });
    for (let i = 0; i < workers; i++) fork(i, 0);
  });
}
