import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, rename, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'undici';
import { generateKey } from '../../src/core/key.js';
import { startServer } from './process.js';
import type { RunningServer } from './process.js';

/** Root of the repository (bench/lib/../..). */
export const ROOT = resolve(import.meta.dirname, '..', '..');
/** The built daemon and CLI the benchmark runs, exactly as `npm start` / `manage-key` do. */
export const SERVER_JS = join(ROOT, 'dist', 'server.js');
export const CLI_JS = join(ROOT, 'dist', 'cli.js');
/** Preload that reports the daemon's live heap after a full GC on SIGUSR2 (with --expose-gc). */
export const HEAP_PROBE = join(ROOT, 'bench', 'lib', 'heap-probe.mjs');

/** The node flags `npm start` gives the daemon (package.json `scripts.start`), so it is measured as users run it. */
export function startNodeFlags(): string[] {
  const start = String((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: { start?: unknown } }).scripts?.start);
  const words = start.trim().split(/\s+/);
  const entry = words.indexOf('dist/server.js');
  // Plain flags only: anything the benchmark could not repeat exactly is refused rather than guessed at.
  if (words[0] !== 'node' || entry !== words.length - 1 || words.some((w) => /["'$\\]/.test(w))) {
    throw new SkipError(`package.json "start" is not "node [flags] dist/server.js": ${start}`);
  }
  return words.slice(1, entry);
}

/** Thrown by a section that cannot run here; the table shows the reason instead of numbers. */
export class SkipError extends Error {}

/** Throws SkipError unless the daemon has been built. */
export function requireDaemon(): void {
  if (!existsSync(SERVER_JS)) throw new SkipError('dist/server.js not built yet (the daemon is not on this branch)');
}

/** A temp directory holding `api/.api_key` with a fresh key; `cleanup` removes it. */
export interface KeyDir { dir: string; keyFile: string; key: string; cleanup(): Promise<void> }

/** Creates a unique temp key directory with a valid key file (mode 0600). */
export async function makeKeyDir(): Promise<KeyDir> {
  const dir = await mkdtemp(join(tmpdir(), 'qwen-bench-'));
  await mkdir(join(dir, 'api'), { mode: 0o700 });
  const keyFile = join(dir, 'api', '.api_key');
  const key = generateKey();
  await writeFile(keyFile, key + '\n', { mode: 0o600 });
  return { dir, keyFile, key, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

let tmpCounter = 0;
/** Writes `key` to a temp file beside the key file; the returned function renames it into place. */
export async function stageKey(keyFile: string, key: string): Promise<() => Promise<void>> {
  const tmp = `${keyFile}.${process.pid}.${tmpCounter++}.tmp`;
  await writeFile(tmp, key + '\n', { mode: 0o600 });
  return () => rename(tmp, keyFile);
}

/** Replaces the key file the way atomic writers do: write a temp file beside it, then rename over it. */
export async function renameKeyInto(keyFile: string, key: string): Promise<void> {
  await (await stageKey(keyFile, key))();
}

/** Starts `node <npm start's flags> [nodeArgs] dist/server.js --port 0 --key-file F [args]` with a clean environment; SkipError if it won't start. */
export async function startDaemon(keyFile: string, args: string[] = [], nodeArgs: string[] = []): Promise<RunningServer> {
  requireDaemon();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(QWEN_|PORT$|HOST$|LOG_LEVEL$|NODE_ENV$)/.test(k)) env[k] = v;
  }
  try {
    return await startServer({
      command: process.execPath,
      args: [...startNodeFlags(), ...nodeArgs, SERVER_JS, '--port', '0', '--host', '127.0.0.1', '--key-file', keyFile, ...args],
      env, replaceEnv: true, cwd: ROOT,
    });
  } catch (err) {
    const last = (err as Error).message.split('\n').filter(Boolean).slice(-1)[0] ?? '';
    throw new SkipError(`daemon did not start with [${args.join(' ')}]: ${last.slice(0, 200)}`);
  }
}

/** One keep-alive connection for tight request loops (a fresh TCP connection per request would dominate). */
export class Prober {
  private readonly client: Client;
  constructor(url: string) {
    this.client = new Client(url, { pipelining: 1, keepAliveTimeout: 30_000 });
  }
  /** Status of `GET path` presenting `key` (no key when undefined). */
  async status(path: string, key?: string): Promise<number> {
    const res = await this.client.request({ method: 'GET', path, headers: key === undefined ? {} : { 'x-api-key': key } });
    await res.body.dump();
    return res.statusCode;
  }
  /** Closes the connection. */
  close(): Promise<void> {
    return this.client.close();
  }
}
