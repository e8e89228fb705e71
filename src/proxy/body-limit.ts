import { Transform, type TransformCallback } from 'node:stream';

/** A request body went past the configured limit; `status` is what the client should get. */
export class BodyTooLargeError extends Error {
  readonly status = 413;
  readonly code = 'BODY_TOO_LARGE';

  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** True when a declared Content-Length is already over `limit`, so nothing needs to be forwarded. */
export function declaredLengthExceeds(contentLength: string | undefined, limit: number): boolean {
  if (contentLength === undefined) return false;
  const length = Number(contentLength);
  return Number.isFinite(length) && length > limit;
}

/** A pass-through stream that fails with BodyTooLargeError the moment more than `limit` bytes went through. */
export function createBodyLimiter(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) callback(new BodyTooLargeError(limit));
      else callback(null, chunk);
    },
  });
}
