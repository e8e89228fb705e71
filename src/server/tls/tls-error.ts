/** Stable codes for everything that can be wrong with a certificate, its key or the client CA. */
export type TlsErrorCode =
  | 'TLS_FILE_MISSING'
  | 'TLS_FILE_UNREADABLE'
  | 'TLS_FILE_TOO_LARGE'
  | 'TLS_CERT_INVALID'
  | 'TLS_KEY_INVALID'
  | 'TLS_CA_INVALID'
  | 'TLS_KEY_MISMATCH'
  | 'TLS_CERT_EXPIRED'
  | 'TLS_CERT_NOT_YET_VALID'
  | 'TLS_CONTEXT_FAILED';

/** A typed certificate problem; its message names files and dates, never key material. */
export class TlsError extends Error {
  readonly code: TlsErrorCode;

  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsError';
    this.code = code;
  }
}
