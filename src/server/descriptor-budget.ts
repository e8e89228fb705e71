import { readFileSync } from 'node:fs';

/**
 * Descriptors kept back from client connections. The daemon itself holds about 20 (stdio, the event loop,
 * pipes, the inotify watch); the rest covers what must keep working under a flood: the key and history
 * reads of a reload, the watch re-opening directories, the upstream probe, the log stream, worker IPC.
 */
export const DESCRIPTOR_RESERVE = 64;

/**
 * The soft limit on open files, as Linux states it in /proc/self/limits ("Max open files  1024  4096
 * files"); undefined where that file is missing (other systems) or says unlimited. Node raises the soft
 * limit to the hard one at start, so this is what the process may really open.
 */
export function openFileLimit(readText: (path: string) => string = (path) => readFileSync(path, 'utf8')): number | undefined {
  let text: string;
  try {
    text = readText('/proc/self/limits');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text);
  return soft ? Number(soft[1]) : undefined;
}

/**
 * The most client connections that fit in `limit` descriptors with the reserve kept back, when each
 * connection may hold `perConnection` (2 with an upstream: the client's socket and the upstream one).
 * At least 1, so a tiny limit still serves, if barely.
 */
export function connectionsThatFit(limit: number, perConnection: number): number {
  return Math.max(1, Math.floor((limit - DESCRIPTOR_RESERVE) / perConnection));
}

/** The connection cap in force: the one asked for, lowered to what the open-file limit leaves room for. */
export function connectionCap(requested: number, perConnection: number, limit: number | undefined): { max: number; openFileLimit?: number } {
  const fits = limit === undefined ? requested : connectionsThatFit(limit, perConnection);
  return { max: Math.min(requested, fits), openFileLimit: limit };
}
