import { KeyFileError, isErrnoCode } from '../core/errors.js';

// System error codes people meet when a key directory is not what they think it is.
const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device', ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory', EEXIST: 'a file of that name is in the way', ENOENT: 'no such file or directory',
};

// Running servers keep the history's current key while the file holds none: `rotate` replaces that one, with its window.
const UNUSABLE_WAYS_OUT = ' (fix it; "manage-key rotate" replaces the history\'s current key, which running servers keep; '
  + '"manage-key generate --force" starts afresh with no window)';

/** Turns any failure of a command into one line for stderr; never includes key material. */
export function describeFailure(err: unknown, keyFile: string, clientsFile?: string): string {
  if (err instanceof KeyFileError) return oneLine(describeKeyFileError(err, keyFile, clientsFile));
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') return oneLine(describeErrno(err));
  return oneLine(`unexpected error: ${(err as Error)?.message ?? String(err)}`);
}

function describeKeyFileError(err: KeyFileError, keyFile: string, clientsFile: string | undefined): string {
  const errno = rootErrno(err);
  switch (err.code) {
    case 'KEY_MISSING':
      return err.message.includes('manage-key generate') ? err.message : `no key file at ${keyFile}; run "manage-key generate" to create one`;
    case 'KEY_EMPTY':
    case 'KEY_TOO_LARGE':
    case 'KEY_INVALID_CHARS':
    case 'KEY_BAD_ENCODING':
      // A refusal of `rotate` already says what is left to do; anything else is told the ways out.
      return `the key file ${keyFile} does not hold a usable key: ${err.message}${err.message.includes('manage-key') ? '' : UNUSABLE_WAYS_OUT}`;
    case 'CLIENTS_INVALID':
    case 'CLIENTS_TOO_LARGE': {
      // The core's message (`clients file is unusable: not JSON`) knows no path: the CLI adds it, and the way out.
      const named = clientsFile === undefined ? 'the clients file' : `the clients file ${clientsFile}`;
      return `${err.message.replace(/^clients file/, named)}; fix it by hand, or remove it to end every named key `
        + '(running servers keep their last good set of named keys meanwhile)';
    }
    case 'KEY_EXISTS':
    case 'CLIENTS_WRITE_FAILED':
    case 'CLIENT_EXISTS':
    case 'CLIENT_UNKNOWN':
    case 'CLIENT_EXPIRED':
    case 'KEY_NOT_REGULAR':
    case 'KEY_READ_TIMEOUT':
    case 'KEY_UNTRUSTED':
      return err.message;
    case 'KEY_UNREADABLE':
      return `cannot read the key file ${keyFile}${errno ? `: ${describeErrno(errno)}` : ''}`;
    case 'KEY_WRITE_FAILED':
      return `cannot write the key file ${keyFile}${errno ? `: ${describeErrno(errno)}` : ''}; nothing was changed in it`;
    case 'LOCK_FAILED':
      return errno && !isErrnoCode(errno, 'ELOCKED') ? `cannot lock ${keyFile}: ${describeErrno(errno)}` : err.message;
  }
}

// What the failed system call was trying to do, in words.
const SYSCALL_WORDS: Record<string, string> = {
  mkdir: 'cannot create', open: 'cannot open', rename: 'cannot replace', write: 'cannot write', unlink: 'cannot remove',
};

function describeErrno(err: NodeJS.ErrnoException): string {
  const words = ERRNO_WORDS[err.code!] ?? err.message;
  const verb = (err.syscall && SYSCALL_WORDS[err.syscall]) ?? err.syscall;
  const where = err.path ? `${verb ? `${verb} ` : ''}${err.path}: ` : '';
  return `${where}${words} (${err.code})`;
}

// Key-file errors wrap the system error that caused them; the CLI names that one.
function rootErrno(err: unknown): NodeJS.ErrnoException | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as Error).cause, depth++) {
    if (isErrnoCode(e, ...Object.keys(ERRNO_WORDS), 'ELOCKED', 'EBUSY', 'EXDEV', 'EIO')) return e;
  }
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}
