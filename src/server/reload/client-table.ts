import { EXPIRING_SOON_MS } from '../../core/clients-file.js';
import type { ClientRecord } from '../../core/clients-format.js';
import { fingerprintOfDigest } from '../../core/key.js';

/** Which key a request presented: whose (`default` for the static key), and whether its current or previous one. */
export interface KeyMatch {
  readonly client: string;
  readonly key: 'current' | 'previous';
}

/** One named key as verification sees it: the match it answers (one object per key, made once per load) and until when (ms; Infinity: no end). */
export interface ClientKey extends KeyMatch {
  readonly until: number;
}

/** What health and status say about the named keys at one moment, by name and fingerprint only. */
export interface ClientsDescription {
  /** Named keys in force (not expired). */
  active: number;
  expired: number;
  /** Previous keys of rotated clients still inside their window. */
  previousKeys: number;
  /** Keys that expire within `soonMs`, soonest first (at most `limit` of them). */
  expiringSoon: Array<{ name: string; fingerprint: string; expires: string }>;
  expiringSoonCount: number;
}

/** How windows of rotated clients are decided: the server's --grace and --max-grace, as for the static key. */
export interface WindowRules {
  graceMs: number;
  maxGraceMs: number;
}

interface Expiry {
  name: string;
  fingerprint: string;
  expires: number;
}

/**
 * The named keys in force, built once per change of the clients file: a Map from the hex SHA-256 digest of
 * each valid key (a client's current key, and its previous key while its window lasts) to its client, so
 * verifying a presented key is one lookup however many clients there are. A previous key's window is the
 * rotation's own `until`, else its time plus the server's --grace, never more than --max-grace, and never
 * past the client's expiry.
 */
export class ClientTable {
  /** No named keys (no clients file). */
  static readonly EMPTY = new ClientTable([], { graceMs: 0, maxGraceMs: 0 });

  readonly keys: ReadonlyMap<string, ClientKey>;
  /** How many clients the file names. */
  readonly size: number;
  /** How many previous-key windows were cut to --max-grace. */
  readonly windowsCut: number;
  readonly #expiries: Expiry[];
  readonly #windowEnds: Array<{ expires: number }>;

  constructor(records: readonly ClientRecord[], rules: WindowRules) {
    const keys = new Map<string, ClientKey>();
    const expiries: Expiry[] = [];
    const windowEnds: Array<{ expires: number }> = [];
    let cut = 0;
    for (const record of records) {
      const expires = record.expires ? record.expires.getTime() : Infinity;
      keys.set(record.sha256, { client: record.name, key: 'current', until: expires });
      if (expires !== Infinity) expiries.push({ name: record.name, fingerprint: fingerprintOfDigest(record.sha256), expires });
      const previous = record.previous;
      if (!previous) continue;
      const rotated = previous.rotated.getTime();
      const asked = previous.until ? previous.until.getTime() : rotated + rules.graceMs;
      if (asked > rotated + rules.maxGraceMs) cut++;
      const until = Math.min(asked, rotated + rules.maxGraceMs, expires);
      if (until <= rotated) continue;
      keys.set(previous.sha256, { client: record.name, key: 'previous', until });
      windowEnds.push({ expires: until });
    }
    this.keys = keys;
    this.size = records.length;
    this.windowsCut = cut;
    this.#expiries = expiries.sort((a, b) => a.expires - b.expires);
    this.#windowEnds = windowEnds.sort((a, b) => a.expires - b.expires);
  }

  /** The named keys as of `now`: counts, and those expiring within `soonMs` (at most `limit` listed). */
  describe(now: number, soonMs = EXPIRING_SOON_MS, limit = 100): ClientsDescription {
    const expired = countAtMost(this.#expiries, now);
    const soon = this.#expiries.slice(expired, countAtMost(this.#expiries, now + soonMs));
    return {
      active: this.size - expired,
      expired,
      previousKeys: this.#windowEnds.length - countAtMost(this.#windowEnds, now),
      expiringSoon: soon.slice(0, limit).map((e) => ({ name: e.name, fingerprint: e.fingerprint, expires: new Date(e.expires).toISOString() })),
      expiringSoonCount: soon.length,
    };
  }

  /** The keys with an expiry still ahead of `now`, soonest first, at most `limit` (for the expiry gauge). */
  nextExpiries(now: number, limit: number): ReadonlyArray<{ name: string; expires: number }> {
    const from = countAtMost(this.#expiries, now);
    return this.#expiries.slice(from, from + limit);
  }
}

// How many of the (ascending) entries expire at or before `time`: a binary search.
function countAtMost(sorted: ReadonlyArray<{ expires: number }>, time: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]!.expires <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}
