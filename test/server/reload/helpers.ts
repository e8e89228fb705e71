import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogger } from '../../helpers/log-capture.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { KeyReloader } from '../../../src/server/reload/key-reloader.js';
import type { ReloadEvent } from '../../../src/server/reload/reload-record.js';
import { watchKeyFile } from '../../../src/server/reload/key-watcher.js';
import type { KeyWatcher, WatchMode } from '../../../src/server/reload/key-watcher.js';
import type { InitialKeyEnv } from '../../../src/server/reload/key-source.js';
import { ClientsReloader } from '../../../src/server/reload/clients-reloader.js';
import { clientsPathFor } from '../../../src/core/clients-file.js';

/** A unique temp directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'qwen-reload-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger writing JSON lines into memory, checked by the key-leak guard (test/helpers/log-capture.ts). */
export { captureLogger };

/** Waits until `cond` holds, polling every `stepMs`; returns the elapsed ms, throws at the deadline. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 1000, stepMs = 1): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Resolves once an interval of `ms` has fired `times` times. For showing that something does NOT happen
 * within a timer's period: a timer of that period started earlier fires first, however busy the machine.
 */
export function periods(ms: number, times: number): Promise<void> {
  return new Promise((resolve) => {
    let fired = 0;
    const timer = setInterval(() => {
      if (++fired < times) return;
      clearInterval(timer);
      resolve();
    }, ms);
  });
}

/** Resolves after `ms`; only for spacing writes the way a writer would, never for waiting on results. */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reloader and a watcher wired together as the server wires them. */
export interface HotReload {
  store: KeyStore;
  reloader: KeyReloader;
  watcher: KeyWatcher;
  events: ReloadEvent[];
  log: ReturnType<typeof captureLogger>;
  close(): Promise<void>;
}

/** Starts store + reloader + watcher on `keyFile`; the backstop is off unless asked for, so pickups prove the watch. */
export async function startHotReload(keyFile: string, options: {
  graceMs?: number; mode?: WatchMode; backstopMs?: number; pollMs?: number; env?: InitialKeyEnv; clock?: () => number;
} = {}): Promise<HotReload> {
  const log = captureLogger();
  const store = new KeyStore({ clock: options.clock });
  const events: ReloadEvent[] = [];
  const reloader = new KeyReloader({
    keyFile, store, graceMs: options.graceMs ?? 0, logger: log.logger, clock: options.clock, onReload: (e) => events.push(e),
  });
  await reloader.initialise(options.env ?? { development: false });
  const watcher = await watchKeyFile({
    keyFile,
    mode: options.mode ?? 'events',
    backstopMs: options.backstopMs ?? 0,
    pollMs: options.pollMs,
    onChange: (trigger) => void reloader.reload(trigger),
    onError: (err) => log.logger.error('watch error', { error: err.message }),
  });
  return {
    store, reloader, watcher, events, log,
    close: async () => {
      await watcher.close();
      reloader.close();
    },
  };
}

/** The key file's and the clients file's reloaders on one watch, as the daemon wires them. */
export interface ClientsHotReload {
  store: KeyStore;
  clients: ClientsReloader;
  events: ReloadEvent[];
  log: ReturnType<typeof captureLogger>;
  close(): Promise<void>;
}

/** Starts store, both reloaders and the watch on `keyFile` with the clients file beside it; the backstop is off unless asked for. */
export async function startClientsHotReload(keyFile: string, options: {
  graceMs?: number; backstopMs?: number; mode?: WatchMode; clientsFile?: string;
} = {}): Promise<ClientsHotReload> {
  const log = captureLogger();
  const store = new KeyStore();
  const events: ReloadEvent[] = [];
  const reloader = new KeyReloader({ keyFile, store, graceMs: options.graceMs ?? 0, logger: log.logger });
  const clientsFile = options.clientsFile ?? clientsPathFor(keyFile);
  const clients = new ClientsReloader({
    clientsFile, store, graceMs: options.graceMs ?? 0, maxGraceMs: 7 * 86_400_000, logger: log.logger, onReload: (e) => events.push(e),
  });
  await reloader.initialise({ development: false });
  await clients.reload('initialise');
  const watcher = await watchKeyFile({
    keyFile, mode: options.mode ?? 'events', backstopMs: options.backstopMs ?? 0, alsoWatch: [clientsFile],
    onChange: (trigger) => {
      void reloader.reload(trigger);
      void clients.reload(trigger);
    },
  });
  return {
    store, clients, events, log,
    close: async () => {
      await watcher.close();
      reloader.close();
      clients.close();
    },
  };
}

/** Pickup latencies by case, printed once per file (no key material, only numbers). */
export class Latencies {
  readonly #samples = new Map<string, number[]>();

  add(name: string, ms: number): void {
    const list = this.#samples.get(name) ?? [];
    list.push(ms);
    this.#samples.set(name, list);
  }

  report(title: string): void {
    const rows = [...this.#samples].map(([name, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      const p50 = sorted[Math.floor(sorted.length / 2)]!;
      return `    ${name.padEnd(46)} n=${String(list.length).padStart(3)}  median ${p50.toFixed(1).padStart(6)} ms  max ${sorted.at(-1)!.toFixed(1).padStart(6)} ms`;
    });
    console.log(`\n  ${title} — pickup latency\n${rows.join('\n')}`);
  }
}
