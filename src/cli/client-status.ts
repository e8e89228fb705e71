import { readClientsFile } from '../core/clients-file.js';
import { formatStamp } from '../core/history.js';
import { formatClientsSummary, summariseClients } from './client-view.js';
import type { ClientsSummary } from './client-view.js';
import type { Context } from './context.js';

/**
 * What `status` adds about the named keys, as text and for `--json`. An unusable clients file does not fail
 * the command (the static key's status is what it is for): it is said, and servers keep their last good set.
 */
export async function clientsStatus({ io, clientsFile }: Context): Promise<{ text: string; json: object }> {
  const now = io.clock();
  let summary: ClientsSummary;
  try {
    summary = summariseClients((await readClientsFile(clientsFile)) ?? [], clientsFile, now);
  } catch (err) {
    summary = { clientsFile, active: 0, expired: 0, expiringSoon: [], error: (err as Error).message };
    io.stderr(`manage-key: warning: ${(err as Error).message} (${clientsFile})\n`);
  }
  const json = {
    clientsFile, active: summary.active, expired: summary.expired, error: summary.error,
    expiringSoon: summary.expiringSoon.map((e) => ({ name: e.name, fingerprint: e.fingerprint, expires: e.expires.toISOString() })),
  };
  return { text: formatClientsSummary(summary, formatStamp), json };
}
