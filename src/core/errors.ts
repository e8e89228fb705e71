/** Stable codes for everything that can be wrong with a key file, its history or the clients file. */
export type KeyFileErrorCode =
  | 'KEY_MISSING'
  | 'KEY_EMPTY'
  | 'KEY_TOO_LARGE'
  | 'KEY_INVALID_CHARS'
  | 'KEY_BAD_ENCODING'
  | 'KEY_UNREADABLE'
  | 'KEY_NOT_REGULAR'
  | 'KEY_READ_TIMEOUT'
  | 'KEY_UNTRUSTED'
  | 'KEY_EXISTS'
  | 'KEY_WRITE_FAILED'
  | 'LOCK_FAILED'
  | 'CLIENTS_INVALID'
  | 'CLIENTS_TOO_LARGE'
  | 'CLIENTS_WRITE_FAILED'
  | 'CLIENT_EXISTS'
  | 'CLIENT_UNKNOWN'
  | 'CLIENT_EXPIRED';

/** A typed key-file problem; its message never contains key material. */
export class KeyFileError extends Error {
  readonly code: KeyFileErrorCode;

  constructor(code: KeyFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyFileError';
    this.code = code;
  }
}

/** True when `err` is a Node system error with one of the given codes; with no codes given, with any code. */
export function isErrnoCode(err: unknown, ...codes: string[]): err is NodeJS.ErrnoException {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  // Without codes this asks "is it a system error at all?", which the reloaders name their failures by.
  return typeof code === 'string' && (codes.length === 0 || codes.includes(code));
}
