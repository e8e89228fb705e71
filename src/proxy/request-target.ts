/**
 * A request target reduced to what routing, the key check's route and the forwarder all use: one parse
 * per request, so what was routed and authorised is exactly what is forwarded.
 */
export interface RequestTarget {
  /** The origin-form path as sent, percent-encoding untouched (`/api/v1/edit`). */
  readonly path: string;
  /** `?` and the query as sent, or `''`. */
  readonly query: string;
}

/** Why a target is refused: not a usable URL at all, or a path that could leave where it was routed. */
export type TargetProblem = 'malformed' | 'escape';

/** The `{detail}` each refusal is answered with (400). */
export const TARGET_PROBLEM_DETAIL: Record<TargetProblem, string> = {
  malformed: 'Malformed URL',
  escape: 'Invalid request path',
};

// Absolute-form (`GET http://host:port/path`, which servers must accept): an http(s) scheme and a plain
// authority (name, IPv4 or bracketed IPv6, optional port; no user info, no empty host as in `http:///x`).
const ABSOLUTE = /^https?:\/\/(?:[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\])(?::\d{1,5})?(?=[/?]|$)/i;
// Paths without any of these (`/api/v1/health`) need no further look: the common case stays one regex test.
const WORTH_A_LOOK = /[%\\.;#]/;
const BAD_PERCENT = /%(?![0-9a-f]{2})/i;
// Only ASCII is decoded: the characters that matter (`.`, `/`, `\`, `;`, `%`, controls) are all ASCII.
const ENCODED_ASCII = /%[0-7][0-9a-f]/gi;
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Parses a request line's target into path and query, or says why it is refused. An absolute-form target
 * is reduced to its path and query as written (never normalised, as `new URL()` would: that turned
 * `http://x/api/v1/../../admin` into `/admin`). A path is refused when, decoded once or more as backends
 * may decode it, it holds a `.` or `..` segment (also `..;param`), a backslash, a slash that was encoded,
 * or a control character; or when its percent-encoding is broken.
 */
export function parseRequestTarget(url: string): RequestTarget | TargetProblem {
  let rest = url;
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    const origin = ABSOLUTE.exec(url);
    if (origin === null) return 'malformed';
    rest = url.slice(origin[0].length);
    if (rest.charCodeAt(0) !== 47) rest = '/' + rest;
  }
  const mark = rest.indexOf('?');
  const path = mark < 0 ? rest : rest.slice(0, mark);
  if (WORTH_A_LOOK.test(path)) {
    const problem = pathProblem(path);
    if (problem !== undefined) return problem;
  }
  if (mark >= 0 && rest.includes('#', mark)) return 'malformed';
  return { path, query: mark < 0 ? '' : rest.slice(mark) };
}

function pathProblem(path: string): TargetProblem | undefined {
  if (path.includes('#') || BAD_PERCENT.test(path)) return 'malformed';
  // Backends decode a different number of times (a proxy, then the framework): look at every stage.
  let decoded = path;
  for (let round = 0; round < 3; round++) {
    if (escapes(decoded, path)) return 'escape';
    const next = decoded.replace(ENCODED_ASCII, (code) => String.fromCharCode(parseInt(code.slice(1), 16)));
    if (next === decoded) return undefined;
    decoded = next;
  }
  return escapes(decoded, path) ? 'escape' : undefined;
}

function escapes(decoded: string, raw: string): boolean {
  if (decoded.includes('\\') || CONTROL.test(decoded) || slashes(decoded) !== slashes(raw)) return true;
  for (const segment of decoded.split('/')) {
    // `..;x` is `..` to servlet containers; trailing blanks are dropped by some file systems.
    const bare = segment.split(';', 1)[0]!.trimEnd();
    if (bare === '.' || bare === '..') return true;
  }
  return false;
}

function slashes(text: string): number {
  let count = 0;
  for (let i = text.indexOf('/'); i >= 0; i = text.indexOf('/', i + 1)) count++;
  return count;
}
