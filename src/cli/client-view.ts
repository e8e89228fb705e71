import { EXPIRING_SOON_MS } from '../core/clients-file.js';
import type { ClientRecord } from '../core/clients-format.js';
import { fingerprintOfDigest } from '../core/key.js';

/** A named key as `list` shows it: by fingerprint, never by key (the clients file holds none). */
export interface ClientJson {
  name: string;
  fingerprint: string;
  created: string;
  expires: string | null;
  expired: boolean;
  /** A rotated client's previous key; `until` null: the server's --grace after `rotated`. */
  previous: { fingerprint: string; rotated: string; until: string | null } | null;
}

/** One record for scripts (`list --json`). */
export function clientJson(record: ClientRecord, now: Date): ClientJson {
  const { previous, expires } = record;
  return {
    name: record.name,
    fingerprint: fingerprintOfDigest(record.sha256),
    created: record.created.toISOString(),
    expires: expires?.toISOString() ?? null,
    expired: expires !== undefined && expires.getTime() <= now.getTime(),
    previous: previous ? { fingerprint: fingerprintOfDigest(previous.sha256), rotated: previous.rotated.toISOString(), until: previous.until?.toISOString() ?? null } : null,
  };
}

/** The `list` table: name, fingerprint, creation, expiry and state, times in local time. */
export function formatClientList(records: readonly ClientRecord[], clientsFile: string, now: Date, formatTime: (d: Date) => string): string {
  if (records.length === 0) return `No named keys in ${clientsFile}.\n`;
  const rows = records.map((r) => {
    const state = r.expires && r.expires <= now ? 'expired' : 'active';
    const previous = !r.previous ? '' : r.previous.until
      ? `; previous key ${fingerprintOfDigest(r.previous.sha256)} ${r.previous.until > now ? 'until' : 'ended'} ${formatTime(r.previous.until)}`
      : `; previous key ${fingerprintOfDigest(r.previous.sha256)} for the server's grace after ${formatTime(r.previous.rotated)}`;
    return [r.name, fingerprintOfDigest(r.sha256), formatTime(r.created), r.expires ? formatTime(r.expires) : 'never', state + previous];
  });
  const header = ['NAME', 'FINGERPRINT', 'CREATED', 'EXPIRES', 'STATE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return `Named keys in ${clientsFile}:\n${[header, ...rows].map(line).join('\n')}\n`;
}

/** What `status` says about the named keys: how many are in force, and which expire within a week. */
export interface ClientsSummary {
  clientsFile: string;
  active: number;
  expired: number;
  expiringSoon: Array<{ name: string; fingerprint: string; expires: Date }>;
  /** Why the clients file could not be read, when it could not. */
  error?: string;
}

/** Counts the records as of `now`, soonest expiry first. */
export function summariseClients(records: readonly ClientRecord[], clientsFile: string, now: Date): ClientsSummary {
  const expired = records.filter((r) => r.expires && r.expires <= now).length;
  const expiringSoon = records
    .filter((r) => r.expires && r.expires > now && r.expires.getTime() <= now.getTime() + EXPIRING_SOON_MS)
    .sort((a, b) => a.expires!.getTime() - b.expires!.getTime())
    .map((r) => ({ name: r.name, fingerprint: fingerprintOfDigest(r.sha256), expires: r.expires! }));
  return { clientsFile, active: records.length - expired, expired, expiringSoon };
}

/** The status lines about the named keys. */
export function formatClientsSummary(summary: ClientsSummary, formatTime: (d: Date) => string): string {
  if (summary.error) return `Named keys:   ${summary.clientsFile} is unusable (${summary.error}); servers keep their last good set\n`;
  const lines = [`Named keys:   ${summary.active} active, ${summary.expired} expired (${summary.clientsFile})`];
  for (const e of summary.expiringSoon) lines.push(`              expires within 7 days: ${e.name} ${e.fingerprint} on ${formatTime(e.expires)}`);
  return lines.join('\n') + '\n';
}
