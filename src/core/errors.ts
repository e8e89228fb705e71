/** Stable codes for everything that can be wrong with a key file or its history. */
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
  | 'LOCK_FAILED';

/** A typed key-file problem; its message never contains key material. */
export class KeyFileError extends Error {
  readonly code: KeyFileErrorCode;

  constructor(code: KeyFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyFileError';
    this.code = code;
  }
}

/** True when `err` is a Node system error with one of the given codes (with none given: with any code). */
export function isErrnoCode(err: unknown, ...codes: string[]): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string'
    && (codes.length === 0 || codes.includes((err as NodeJS.ErrnoException).code!));
}
