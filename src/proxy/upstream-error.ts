import { BodyTooLargeError } from './body-limit.js';

/** How the forwarder answers a failed upstream exchange. */
export interface UpstreamFailure {
  status: number;
  detail: string;
  /** Stable short code for logs (undici's or Node's error code when there is one). */
  code: string;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT',
]);

// The client, not the upstream, broke the exchange: its body ended early or it went away.
const CLIENT_CODES = new Set(['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Finds the first error code along the `cause` chain (undici wraps socket errors). */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Maps an error from forwarding to 413 (body limit), 504 (too slow), 400 (client broke off) or 502 (anything else). */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  if (err instanceof BodyTooLargeError) return { status: 413, detail: 'Request body too large', code: err.code };
  const code = codeOf(err) ?? 'UNKNOWN';
  if (TIMEOUT_CODES.has(code)) return { status: 504, detail: 'Upstream timed out', code };
  if (CLIENT_CODES.has(code)) return { status: 400, detail: 'Request body incomplete', code };
  return { status: 502, detail: 'Upstream unavailable', code };
}
