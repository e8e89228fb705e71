import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';

/** A server process that announced its port. */
export interface RunningServer {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** performance.now() at spawn and when the `listening` line arrived. */
  spawnedAt: number;
  listeningAt: number;
  /** Output lines seen so far (stdout and stderr), for error messages and checks. */
  output: string[];
  /** The next output line that `matches`, from now on; rejects after `timeoutMs`. */
  nextLine(matches: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** How to start a server that logs a JSON `listening` line with its port. */
export interface StartOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Use `env` as the whole environment instead of adding it to this process's. */
  replaceEnv?: boolean;
  cwd?: string;
  timeoutMs?: number;
}

/** Spawns a server and resolves once it logs `listening` (rejects with its output if it exits first). */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const spawnedAt = performance.now();
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.replaceEnv ? options.env : { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters = new Set<(line: string) => void>();
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within ${options.timeoutMs ?? 10000} ms:\n${tail(output)}`)), options.timeoutMs ?? 10000);
    const onLine = (line: string): void => {
      output.push(line);
      if (output.length > 500) output.splice(0, 100);
      for (const waiter of waiters) waiter(line);
      const port = listeningPort(line);
      if (port !== undefined) { clearTimeout(timer); resolve(port); }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited with code ${code} before listening:\n${tail(output)}`)); });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const listeningAt = performance.now();
  return {
    child, pid: child.pid!, port, url: `http://127.0.0.1:${port}`, spawnedAt, listeningAt, output,
    nextLine(matches, timeoutMs = 5000) {
      return new Promise<string>((resolve, reject) => {
        let settled = false;
        const settle = (err: Error | undefined, line?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          waiters.delete(waiter);
          if (err) reject(err);
          else resolve(line!);
        };
        const waiter = (line: string) => {
          try {
            if (matches(line)) settle(undefined, line);
          } catch (err) {
            settle(err as Error);
          }
        };
        const timer = setTimeout(() => settle(new Error(`no such line within ${timeoutMs} ms:\n${tail(output)}`)), timeoutMs);
        waiters.add(waiter);
        void exited.then((code) => settle(new Error(`exited with code ${code} while waiting for a line:\n${tail(output)}`)));
      });
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The port of a JSON log line whose message is `listening`, if it is one. */
export function listeningPort(line: string): number | undefined {
  if (!line.includes('listening')) return undefined;
  try {
    const entry = JSON.parse(line) as { message?: unknown; port?: unknown };
    return entry.message === 'listening' && typeof entry.port === 'number' ? entry.port : undefined;
  } catch {
    return undefined;
  }
}

function tail(lines: string[]): string {
  return lines.slice(-15).join('\n');
}
