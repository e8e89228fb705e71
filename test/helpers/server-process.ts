import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeKeyFile } from '../../src/core/key-file.js';
import { collect } from './log-capture.js';

/** The built entry point, started exactly as `npm start` does. */
export const SERVER_JS = resolve(import.meta.dirname, '../../dist/server.js');

// Every byte a server writes goes to the key-leak guard (log-capture.ts), with the keys tests register.
export { registerSecret } from './log-capture.js';

/** Number of server processes whose output was collected. */
export let serversStarted = 0;

/** A server process under test. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  /** stdout parsed as JSON log lines (non-JSON lines skipped). */
  lines(): Record<string, unknown>[];
  /** Resolves with the first log line matching, or rejects at the deadline. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Options for spawnServer. */
export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Start under `ulimit -n N` (through sh), as a host with few descriptors would. */
  openFiles?: number;
  /** Wait for the `listening` line (default); false returns at once (for processes expected to exit). */
  waitListening?: boolean;
  /** Node's own flags, before the script (as the image's ENTRYPOINT gives them). */
  nodeArgs?: string[];
  /** Run as another user (a root test proving what an unprivileged user meets). */
  user?: { uid: number; gid: number };
  timeoutMs?: number;
}

/** Starts `node dist/server.js` with a clean environment and collects all its output. */
export async function spawnServer(options: SpawnOptions = {}): Promise<ServerProcess> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [name, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[name] = value;
  const command = [process.execPath, ...(options.nodeArgs ?? []), SERVER_JS, ...(options.args ?? [])];
  // exec: the shell becomes the server, so signals and the exit code are the server's own.
  if (options.openFiles !== undefined) command.unshift('/bin/sh', '-c', `ulimit -n ${options.openFiles} && exec "$@"`, 'sh');
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...options.user });
  serversStarted++;
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; collect(chunk); for (const w of waiters) w(); });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; collect(chunk); });
  // At the exit, the rest of stdout and stderr is read before anyone is told ('close'; at most 300 ms, since
  // workers that outlive their primary hold the pipes), so a server that exits early is reported at once
  // with everything it said. `done` is set before the waiters look.
  let done = false;
  let exitedWith = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.on('exit', (code, signal) => {
      exitedWith = signal ?? `code ${code}`;
      const settle = (): void => {
        if (done) return;
        done = true;
        for (const w of waiters) w();
        resolveExit({ code, signal });
      };
      child.once('close', settle);
      setTimeout(settle, 300).unref();
    });
  });
  const lines = (): Record<string, unknown>[] => out.split('\n').flatMap((line) => {
    try { return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []; } catch { return []; }
  });
  const waitForLine = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> =>
    new Promise((resolveLine, reject) => {
      const check = (): void => {
        const found = lines().find(match);
        if (found) finish(() => resolveLine(found));
        else if (done) finish(() => reject(new Error(`server exited (${exitedWith}) before the expected log line; stderr:\n${err.slice(0, 2000)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; stderr:\n${err.slice(0, 2000)}`))), timeoutMs);
      const finish = (then: () => void): void => { clearTimeout(timer); waiters.delete(check); then(); };
      waiters.add(check);
      check();
    });
  const proc: ServerProcess = {
    child, port: 0, url: '',
    stdout: () => out, stderr: () => err, lines, waitForLine, exited,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
  };
  if (options.waitListening === false) return proc;
  try {
    const listening = await waitForLine((line) => line.message === 'listening', options.timeoutMs);
    proc.port = Number(listening.port);
    proc.url = `http://127.0.0.1:${proc.port}`;
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return proc;
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'qwen-http-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns true or the deadline passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Writes `key` to `<dir>/api/.api_key` (directory created, mode 0600) and returns the path. */
export async function keyFileWith(dir: string, key: string, name = join('api', '.api_key')): Promise<string> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeKeyFile(path, key);
  return path;
}

/** GET `path` with `key` (if any) and return the status. */
export async function statusOf(url: string, key?: string): Promise<number> {
  const res = await fetch(url, { headers: key === undefined ? {} : { 'X-API-Key': key } });
  await res.arrayBuffer();
  return res.status;
}
