import { randomUUID } from 'node:crypto';

// Echoed into logs and headers, so only a short, boring alphabet is accepted from clients.
const SANE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The request id to use: the app's (ctx.state.requestId), else the client's if sane, else a new UUID. */
export function resolveRequestId(
  stateId: unknown,
  clientHeader: string | string[] | undefined,
  generate: () => string = randomUUID,
): string {
  if (typeof stateId === 'string' && stateId !== '') return stateId;
  const client = Array.isArray(clientHeader) ? clientHeader[0] : clientHeader;
  if (client !== undefined && SANE_ID.test(client)) return client;
  return generate();
}
