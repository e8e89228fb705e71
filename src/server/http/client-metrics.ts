import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { OTHER_CLIENTS } from '../../core/client-name.js';
import type { KeyStore } from '../reload/key-store.js';

/** Most values the `client` label takes (`default` and `other` included), so series stay bounded whatever the clients. */
export const MAX_CLIENT_SERIES = 1000;

/** The per-client counts the app updates. */
export interface ClientMetrics {
  /** Counts an authenticated request for `client`; beyond the bound, under `other`. */
  request(client: string): void;
  /** Counts a request that used a named client's previous key inside its window. */
  previousKeyUsed(): void;
  /** Counts a re-read of the clients file that loaded a set or found the file unusable. */
  reload(outcome: 'loaded' | 'unchanged' | 'rejected'): void;
}

/**
 * Registers the named keys' metrics: requests per client (a Map lookup and an increment per request; the
 * first MAX_CLIENT_SERIES - 1 clients to make requests get a series, the rest share `other`), each key's
 * expiry (the MAX_CLIENT_SERIES soonest), how many keys are active, expired and expiring within a week.
 */
export function registerClientMetrics(registry: Registry, store: KeyStore, clock: () => number): ClientMetrics {
  const counts = new Map<string, { n: number }>();
  const other = { n: 0 };
  new Counter({
    name: 'qwen_client_requests_total', help: 'Requests authenticated, by client (default: the static key; other: clients beyond the series bound)',
    labelNames: ['client'], registers: [registry],
    collect() {
      this.reset();
      for (const [client, count] of counts) this.inc({ client }, count.n);
      if (other.n > 0) this.inc({ client: OTHER_CLIENTS }, other.n);
    },
  });
  const previousUsed = new Counter({
    name: 'qwen_client_previous_key_total', help: 'Requests authenticated with a named client\'s previous key inside its window',
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'qwen_clients_reloads_total', help: 'Clients file re-reads that loaded a set of named keys or found the file unusable',
    labelNames: ['result'], registers: [registry],
  });
  const byResult = { loaded: reloads.labels('loaded'), rejected: reloads.labels('rejected') };
  for (const counter of Object.values(byResult)) counter.inc(0);
  new Gauge({
    name: 'qwen_client_keys', help: 'Named keys in the clients file in force, by state', labelNames: ['state'], registers: [registry],
    collect() {
      const d = store.describeClients();
      this.set({ state: 'active' }, d.active);
      this.set({ state: 'expired' }, d.expired);
    },
  });
  new Gauge({
    name: 'qwen_client_keys_expiring_soon', help: 'Named keys that expire within 7 days', registers: [registry],
    collect() {
      this.set(store.describeClients().expiringSoonCount);
    },
  });
  new Gauge({
    name: 'qwen_client_key_expiry_seconds', help: `Unix time each named key expires (keys with an expiry, the ${MAX_CLIENT_SERIES} soonest)`,
    labelNames: ['client'], registers: [registry],
    collect() {
      this.reset();
      for (const e of store.clients.nextExpiries(clock(), MAX_CLIENT_SERIES)) this.set({ client: e.name }, e.expires / 1000);
    },
  });
  return {
    request(client) {
      const count = counts.get(client);
      if (count !== undefined) count.n++;
      else if (counts.size < MAX_CLIENT_SERIES - 1) counts.set(client, { n: 1 });
      else other.n++;
    },
    previousKeyUsed: () => previousUsed.inc(),
    reload(outcome) {
      if (outcome !== 'unchanged') byResult[outcome].inc();
    },
  };
}
