import { resolve } from 'node:path';
import { FirstKeyError, InvalidEnvKeyError } from './reload/key-source.js';

/** Why the daemon could not start, for a person: one plain line for stderr, and the exit code. */
export interface StartFailure {
  line: string;
  /** 2: bad configuration (as for a bad flag); 1: any other start failure. */
  exitCode: 1 | 2;
}

/** Where the daemon meant to listen and keep its key, as the operator gave them. */
export interface StartSettings {
  host: string;
  port: number;
  /** The key file, as configured. */
  keyFile: string;
  /** The working directory, against which relative paths are named in full. */
  cwd: string;
}

// The system errors met at start, in words, with the setting that changes the outcome.
const LISTEN: Record<string, (where: string) => string> = {
  EADDRINUSE: (where) => `cannot listen on ${where}: the port is already in use (another server, or this one already running?); `
    + 'stop that one, or choose another port with --port N (or PORT)',
  EACCES: (where) => `cannot listen on ${where}: permission denied (ports below 1024 need privileges); `
    + 'choose a port from 1024 up with --port N (or PORT)',
  EADDRNOTAVAIL: (where) => `cannot listen on ${where}: that address is not one of this machine's; `
    + 'choose another with --host H (or HOST), e.g. 127.0.0.1 or 0.0.0.0',
  ENOTFOUND: (where) => `cannot listen on ${where}: the host name does not resolve; `
    + 'choose another with --host H (or HOST), e.g. 127.0.0.1 or 0.0.0.0',
};
const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device', ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file of that name is in the way', EISDIR: 'it is a directory',
};

/**
 * Turns what stopped the start into the line printed on stderr beside the `cannot start` log line:
 * the cause and the fix, never a stack and never key material.
 */
export function describeStartFailure(err: unknown, settings: StartSettings): StartFailure {
  if (err instanceof InvalidEnvKeyError) {
    return { exitCode: 2, line: `${err.message}; fix QWEN_API_KEY or unset it (bad configuration: exit code 2)` };
  }
  const errno = rootErrno(err);
  if (errno?.syscall === 'listen' || errno?.syscall === 'getaddrinfo') {
    const where = `${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`;
    const describe = LISTEN[errno.code!];
    if (describe) return { exitCode: 1, line: describe(where) };
  }
  if (err instanceof FirstKeyError) {
    const cause = errno ? `${errno.path ? `${resolve(settings.cwd, errno.path)}: ` : ''}${ERRNO_WORDS[errno.code!] ?? errno.message} (${errno.code})`
      : (err.cause as Error)?.message ?? String(err.cause);
    return {
      exitCode: 1,
      line: `no key yet, and a first-run key could not be generated into ${resolve(settings.cwd, settings.keyFile)}: ${cause}; `
        + 'make that directory writable, point --key-file (or QWEN_API_KEY_FILE) at a writable place, or set QWEN_API_KEY',
    };
  }
  return { exitCode: 1, line: `cannot start: ${(err as Error)?.message ?? String(err)}`.replace(/\s*[\r\n]+\s*/g, ' ') };
}

// Key-file errors wrap the system error that caused them; the line names that one.
function rootErrno(err: unknown): NodeJS.ErrnoException | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!)) {
      return e as NodeJS.ErrnoException;
    }
  }
  return undefined;
}
