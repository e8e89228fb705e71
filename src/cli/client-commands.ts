import { addClient, removeClient, rotateClient } from '../core/client-ops.js';
import { readClientsFile } from '../core/clients-file.js';
import { formatDuration } from '../core/duration.js';
import { formatStamp, historyPathFor } from '../core/history.js';
import { fingerprintOfDigest } from '../core/key.js';
import { clientJson, formatClientList } from './client-view.js';
import { note } from './context.js';
import type { Context } from './context.js';
import { generateRefusal } from './key-location.js';

/**
 * `add`, `list`, `remove` and `rotate NAME`: the named keys. A new key is printed once, alone on stdout
 * (`KEY=$(manage-key add alice)`), and stored nowhere: the clients file keeps only its digest. Notes go to
 * stderr and name keys by fingerprint.
 */
export const CLIENT_COMMANDS = {
  async add({ io, options, keyFile, clientsFile, location }: Context): Promise<number> {
    if (await refused(io, location, 'add')) return 1;
    const { key, record } = await addClient({
      keyFile, clientsFile, name: options.name!, expiresMs: options.expiresMs, clock: io.clock, onNote: note(io), identity: io.identity,
    });
    io.stdout(`${key}\n`);
    io.stderr(`Added client ${record.name} (${fingerprintOfDigest(record.sha256)})${record.expires ? `, valid until ${formatStamp(record.expires)}` : ''}; `
      + `logged in ${historyPathFor(keyFile)}.\n`
      + `This is the only time the key is shown: ${clientsFile} keeps only its digest. Give it to ${record.name}; `
      + 'running servers accept it within moments.\n');
    return 0;
  },

  async list({ io, options, clientsFile }: Context): Promise<number> {
    const records = (await readClientsFile(clientsFile)) ?? [];
    const now = io.clock();
    io.stdout(options.json
      ? `${JSON.stringify({ clientsFile, clients: records.map((r) => clientJson(r, now)) }, null, 2)}\n`
      : formatClientList(records, clientsFile, now, formatStamp));
    return 0;
  },

  async remove({ io, options, keyFile, clientsFile, location }: Context): Promise<number> {
    if (await refused(io, location, 'remove')) return 1;
    const record = await removeClient({ keyFile, clientsFile, name: options.name!, clock: io.clock, onNote: note(io), identity: io.identity });
    io.stderr(`Removed client ${record.name} (${fingerprintOfDigest(record.sha256)}); logged in ${historyPathFor(keyFile)}.\n`
      + 'Running servers refuse its key as soon as they see the clients file (within moments).\n');
    return 0;
  },

  async rotate({ io, options, keyFile, clientsFile, location }: Context): Promise<number> {
    if (await refused(io, location, 'rotate')) return 1;
    const { graceMs, revoke } = options;
    const { key, record, replaced } = await rotateClient({
      keyFile, clientsFile, name: options.name!, graceMs, revoke, expiresMs: options.expiresMs, clock: io.clock, onNote: note(io), identity: io.identity,
    });
    const until = record.previous?.until;
    const fate = revoke ? 'The old key is revoked: servers refuse it as soon as they see the clients file.'
      : until ? `The old key stays valid until ${formatStamp(until)} (--grace ${formatDuration(graceMs!)}).`
        : 'The old key stays valid for the server\'s own grace window (its --grace / QWEN_KEY_GRACE; 0 ends it at once).';
    io.stdout(`${key}\n`);
    io.stderr(`Rotated the key of client ${record.name}: ${fingerprintOfDigest(replaced.sha256)} -> ${fingerprintOfDigest(record.sha256)}; `
      + `logged in ${historyPathFor(keyFile)}.\n${fate}\n`
      + `This is the only time the new key is shown: give it to ${record.name}.\n`);
    return 0;
  },
};

// With the default key file, a directory without api/ is not where a server keeps its keys (as for generate).
async function refused(io: Context['io'], location: Context['location'], command: string): Promise<boolean> {
  const refusal = await generateRefusal(location, command);
  if (refusal) io.stderr(`manage-key: ${refusal}\n`);
  return refusal !== undefined;
}
