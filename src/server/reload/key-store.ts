import { hash, timingSafeEqual } from 'node:crypto';
import { DEFAULT_CLIENT } from '../../core/client-name.js';
import { fingerprint } from '../../core/key.js';
import type { KeySet, KeySource } from '../../core/key-set.js';
import { ClientTable } from './client-table.js';
import type { ClientsDescription, KeyMatch } from './client-table.js';

export type { KeyMatch } from './client-table.js';

/** A description of the keys in force, by fingerprint only. */
export interface KeyDescription {
  source: KeySource;
  fingerprint: string;
  loadedAt: Date;
  since?: Date;
  previous?: { fingerprint: string; until: Date; active: boolean };
}

interface Entry {
  digest: Buffer;
  description: KeyDescription;
  previousDigest?: Buffer;
  previousUntil: number;
}

const EMPTY_DIGEST = Buffer.alloc(32);
const STATIC_CURRENT: KeyMatch = Object.freeze({ client: DEFAULT_CLIENT, key: 'current' });
const STATIC_PREVIOUS: KeyMatch = Object.freeze({ client: DEFAULT_CLIENT, key: 'previous' });

/**
 * Holds the valid keys as SHA-256 digests and answers "is this presented key valid now, and whose is it?".
 * Digests are made once per swap; a request hashes only what it presented, once. The static key is compared
 * in constant time (both sides fixed-size digests, so neither content nor length leaks); the named keys are
 * one Map lookup of that same digest (see docs/security.md for why a lookup is safe there). The one-shot
 * `crypto.hash` costs about a fifth of `createHash().update().digest()`, which builds a stream object per call.
 */
export class KeyStore {
  #entry: Entry | undefined;
  #clients: ClientTable = ClientTable.EMPTY;
  readonly #clock: () => number;
  // The presented key's digest lands here: verify is synchronous, so one buffer per store serves every request.
  readonly #candidate = Buffer.alloc(32);
  #version = 0;

  constructor(options: { clock?: () => number } = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  /** Puts a new key set in force at once; every later request sees it whole. */
  swap(set: KeySet): void {
    const previous = set.previous && set.previous.key !== set.current.key ? set.previous : undefined;
    const current = digest(set.current.key);
    // A new window for the same key (the history changed) is not a new load of the key.
    const loadedAt = this.#entry?.digest.equals(current) ? this.#entry.description.loadedAt : new Date(this.#clock());
    this.#version++;
    this.#entry = {
      digest: current,
      previousDigest: previous ? digest(previous.key) : undefined,
      previousUntil: previous ? previous.until.getTime() : 0,
      description: {
        source: set.current.source,
        fingerprint: fingerprint(set.current.key),
        loadedAt,
        since: set.current.since,
        previous: previous && { fingerprint: fingerprint(previous.key), until: previous.until, active: false },
      },
    };
  }

  /** Puts a new set of named keys in force at once (the clients file changed); the static key is untouched. */
  swapClients(table: ClientTable): void {
    this.#clients = table;
    this.#version++;
  }

  /** The named keys in force. */
  get clients(): ClientTable {
    return this.#clients;
  }

  /** Ends the previous key's window now (used when a revocation arrives for it). */
  endPrevious(): void {
    if (this.#entry) this.#entry.previousUntil = 0;
    this.#version++;
  }

  /** Changes whenever the key set does (swap, swapClients, endPrevious), so a description can be cached until it moves. */
  get version(): number {
    return this.#version;
  }

  /** When the previous key's window ends (ms since the epoch), or undefined when there is no open window. */
  get previousUntil(): number | undefined {
    const entry = this.#entry;
    return entry?.previousDigest && entry.previousUntil > this.#clock() ? entry.previousUntil : undefined;
  }

  /** Whether a key is loaded at all. */
  get loaded(): boolean {
    return this.#entry !== undefined;
  }

  /**
   * Checks a presented key: the static key's current key and, inside its window, its previous one; then the
   * named keys that have not expired (and rotated clients' previous keys inside their windows). One SHA-256
   * of the presented key, two constant-time comparisons, one Map lookup, whatever the number of clients.
   */
  verify(presented: string | undefined): KeyMatch | null {
    if (presented === undefined) return null;
    const digest = hash('sha256', presented, 'hex');
    const entry = this.#entry;
    if (entry) {
      const candidate = this.#candidate;
      candidate.write(digest, 0, 'hex');
      // Stopping at a match of the current key tells the caller only what the 200 will tell it anyway;
      // every other key, the previous one included, takes both comparisons, so they all cost the same.
      if (timingSafeEqual(candidate, entry.digest)) return STATIC_CURRENT;
      const isPrevious = timingSafeEqual(candidate, entry.previousDigest ?? EMPTY_DIGEST);
      if (isPrevious && entry.previousDigest && this.#clock() < entry.previousUntil) return STATIC_PREVIOUS;
    }
    const named = this.#clients.keys.get(digest);
    if (named === undefined || this.#clock() >= named.until) return null;
    return named;
  }

  /** The named keys as of now: counts and those expiring within a week, by name and fingerprint. */
  describeClients(): ClientsDescription {
    return this.#clients.describe(this.#clock());
  }

  /** The keys in force by fingerprint, with the previous key's window as of now. */
  describe(): KeyDescription | undefined {
    const entry = this.#entry;
    if (!entry) return undefined;
    const { previous } = entry.description;
    if (!previous) return entry.description;
    const until = new Date(entry.previousUntil);
    return { ...entry.description, previous: { ...previous, until, active: this.#clock() < entry.previousUntil } };
  }
}

function digest(key: string): Buffer {
  return Buffer.from(hash('sha256', key, 'hex'), 'hex');
}
