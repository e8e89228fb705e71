import { randomUUID } from 'node:crypto';

/** A client's request id is echoed into logs and headers only if it is short and of a plain alphabet. */
export const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** The request id to use: the app's (ctx.state.requestId), else the client's if sane, else a new UUID. */
export function resolveRequestId(
  stateId: unknown,
  clientHeader: string | string[] | undefined,
  generate: () => string = randomUUID,
): string {
  if (typeof stateId === 'string' && stateId !== '') return stateId;
  const client = Array.isArray(clientHeader) ? clientHeader[0] : clientHeader;
  if (client !== undefined && SANE_REQUEST_ID.test(client)) return client;
  return generate();
}

/**
 * A source of UUID-shaped request ids: a random prefix per source and a 48-bit counter in the last
 * group. Unique per process and, through the random prefix, across processes and restarts; a counter
 * is used because an id is made for every request and randomUUID() measurably costs more on that path.
 */
export function requestIdSource(random: () => string = randomUUID): () => string {
  const prefix = random().slice(0, 24);
  let counter = 0;
  return () => prefix + (counter = (counter + 1) % 0x1000000000000).toString(16).padStart(12, '0');
}
