import { clientOf } from '../client-address.js';
import type { Rate } from '../rate.js';

/** Options of the failed-auth throttle. */
export interface ThrottleOptions {
  /** Failures allowed per period (the bucket's size and refill rate). */
  rate: Rate;
  /** Clients remembered at once; the least recently failing one is forgotten first. */
  maxClients?: number;
  clock?: () => number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * A token bucket per client (an IPv4 address, or an IPv6 address's /64, as the connection cap counts them)
 * that only failed authentications draw from, so a request with a valid key is never slowed or refused.
 * A Map in insertion order doubles as the LRU that bounds memory.
 */
export class FailureThrottle {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #maxClients: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ThrottleOptions) {
    this.#capacity = options.rate.count;
    this.#perMs = options.rate.count / options.rate.periodMs;
    this.#maxClients = options.maxClients ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Records a failure from `address`: 0 if it is still allowed, else the seconds to wait before trying again.
   * An IPv6 address counts as its /64, which one host is commonly given whole: it could otherwise fail
   * anew from each of its addresses.
   */
  fail(address: string | undefined): number {
    const client = clientOf(address);
    const now = this.#clock();
    let bucket = this.#buckets.get(client);
    if (bucket) {
      this.#buckets.delete(client);
      bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.updated) * this.#perMs);
      bucket.updated = now;
    } else {
      bucket = { tokens: this.#capacity, updated: now };
      if (this.#buckets.size >= this.#maxClients) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Number of clients currently remembered. */
  get size(): number {
    return this.#buckets.size;
  }
}
