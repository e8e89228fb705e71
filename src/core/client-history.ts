/** What happened to a named key, as its history line says: `Client <event> (<name>[, <detail>])`. */
export type ClientEvent = 'added' | 'rotated' | 'replaced' | 'removed';

/** How every named-key action begins; no action of the static key does. */
export const CLIENT_ACTION_PREFIX = 'Client ';

/** A named-key action parsed back. */
export interface ClientAction {
  event: ClientEvent;
  name: string;
  /** `expires <ISO time>`, `grace until <ISO time>` or `revoked`, when the line says more. */
  detail?: string;
}

const ACTION = /^Client (added|rotated|replaced|removed) \(([a-z0-9][a-z0-9._-]{0,62})(?:, ([^()]+))?\)$/;

/**
 * The history action for a change to a named key. Its line's Key column holds the key's fingerprint,
 * never the key: `Client added (alice) | sha256:4af1344822c8`. The static key's rule (the current key is
 * the latest `Generated` or `Rotated (new)`) is untouched, since no named-key action is either.
 */
export function clientAction(event: ClientEvent, name: string, detail?: string): string {
  return `${CLIENT_ACTION_PREFIX}${event} (${name}${detail ? `, ${detail}` : ''})`;
}

/** The named-key action in `action`, or undefined when it is not one. */
export function parseClientAction(action: string): ClientAction | undefined {
  const match = ACTION.exec(action);
  if (!match) return undefined;
  return { event: match[1] as ClientEvent, name: match[2]!, ...(match[3] === undefined ? {} : { detail: match[3] }) };
}

/** Whether a history action concerns a named key (starts with `Client `); such lines never touch the static key. */
export function isClientAction(action: string): boolean {
  return action.startsWith(CLIENT_ACTION_PREFIX);
}
