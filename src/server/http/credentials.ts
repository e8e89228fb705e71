/** Why a request carries no usable credential. */
export type CredentialProblem = 'missing' | 'malformed';

/** A key candidate taken from the request headers, or a typed rejection. */
export type Credential = { ok: true; key: string } | { ok: false; problem: CredentialProblem };

const MISSING: Credential = Object.freeze({ ok: false, problem: 'missing' });
const MALFORMED: Credential = Object.freeze({ ok: false, problem: 'malformed' });
// RFC 6750 2.1: `"Bearer" 1*SP b64token`, so one or more spaces (never a tab) after the scheme. The token
// is widened to any visible ASCII, which keys may hold. Trailing spaces are the field's own padding,
// which HTTP strips (Node already has on the wire).
const BEARER = /^bearer +([\x21-\x7e]+) *$/i;

/**
 * Reads the presented key from `X-API-Key` (preferred) or `Authorization: Bearer` (scheme in any case).
 * A repeated X-API-Key reaches us joined with ", " and so is never equal to a key: it is passed on as is.
 * An Authorization header that is not `Bearer <token>` is malformed, never a crash; so is a repeated
 * one (pass all its values: Node itself would keep only the first).
 */
export function readCredential(apiKey: string | string[] | undefined, authorization: string | string[] | undefined): Credential {
  const direct = Array.isArray(apiKey) ? apiKey.join(', ') : apiKey;
  if (direct !== undefined && direct !== '') return { ok: true, key: direct };
  if (Array.isArray(authorization) && authorization.length > 1) return MALFORMED;
  const auth = Array.isArray(authorization) ? authorization[0] : authorization;
  if (auth === undefined || auth === '') return MISSING;
  const match = BEARER.exec(auth);
  return match ? { ok: true, key: match[1]! } : MALFORMED;
}
