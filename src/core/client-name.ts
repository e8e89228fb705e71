/** The name the static key goes by wherever clients are named: access lines, metrics, `X-Api-Client`. */
export const DEFAULT_CLIENT = 'default';
/** The metrics label under which clients beyond the per-client series bound are counted together. */
export const OTHER_CLIENTS = 'other';

/**
 * A client's name: 1-63 characters of lower-case letters, digits, `.`, `_` and `-`, starting with a
 * letter or digit. Safe in a header value, a log field, a metrics label, a file name and a shell word.
 */
export const CLIENT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Why `name` cannot name a client (`is reserved ...`, `is not a client name ...`), or undefined when it can.
 * The text never repeats the name: a key pasted where a name belongs must not reach a log line.
 */
export function clientNameProblem(name: string): string | undefined {
  if (name === DEFAULT_CLIENT) return 'is reserved: "default" names the static key';
  if (name === OTHER_CLIENTS) return 'is reserved: "other" counts clients beyond the metrics bound';
  if (!CLIENT_NAME_PATTERN.test(name)) return 'is not a client name (1-63 of a-z 0-9 . _ -, starting with a letter or digit)';
  return undefined;
}
