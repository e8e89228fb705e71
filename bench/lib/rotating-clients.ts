import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import type { Result } from 'autocannon';
import { CLI_JS } from './daemon.js';
import type { KeyDir } from './daemon.js';
import { summarise } from './load.js';
import type { LoadResult } from './load.js';

const run = promisify(execFile);

/** Keep-alive clients on a keyed route that move to a new key when told, as real clients would. */
export interface RotatingClients {
  /** The clients present `key` from `afterMs` from now on. */
  switchTo(key: string, afterMs: number): void;
  /** Stops the load and sums it up. */
  stop(): Promise<LoadResult>;
}

/** Starts autocannon against `GET url+path` presenting `firstKey` (for at most `maxSeconds`). */
export function startRotatingClients(url: string, firstKey: string, options: { path: string; connections: number; overallRate?: number; maxSeconds: number }): RotatingClients {
  let current = firstKey;
  let done!: (err: Error | null, r: Result) => void;
  const finished = new Promise<Result>((resolve, reject) => { done = (err, r) => (err ? reject(err) : resolve(r)); });
  finished.catch(() => undefined);
  const instance = autocannon({
    url,
    connections: options.connections,
    overallRate: options.overallRate,
    duration: options.maxSeconds,
    requests: [{ method: 'GET', path: options.path, setupRequest: (req) => ({ ...req, headers: { 'x-api-key': current } }) }],
  }, (err, result) => done(err, result));
  const timers = new Set<NodeJS.Timeout>();
  return {
    switchTo(key, afterMs) {
      const timer = setTimeout(() => { timers.delete(timer); current = key; }, afterMs);
      timers.add(timer);
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      instance.stop();
      return summarise(await finished);
    },
  };
}

/** `manage-key rotate` on the key directory with the real CLI; resolves to the key it printed. */
export async function rotateWithCli(keys: KeyDir): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI_JS, 'rotate', '--key-file', keys.keyFile], { cwd: keys.dir });
  const key = stdout.trim();
  if (!/^\S+$/.test(key)) throw new Error('rotate printed something other than one key');
  return key;
}
