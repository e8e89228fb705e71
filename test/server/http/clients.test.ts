import { expect } from 'chai';
import { digestOf } from '../../../src/core/key.js';
import type { ClientRecord } from '../../../src/core/clients-format.js';
import { createMetrics, type Metrics } from '../../../src/server/http/metrics.js';
import { MAX_CLIENT_SERIES } from '../../../src/server/http/client-metrics.js';
import { ClientTable } from '../../../src/server/reload/client-table.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import { KEY, startApp } from '../../helpers/app-server.js';

const NOW = Date.UTC(2026, 10, 29, 10);
const DAY = 86_400_000;
const ALICE = 'qwk_alice_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
const ALICE_OLD = 'qwk_aliceold_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1';
const BOB = 'qwk_bob_' + 'Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8L9z0';

function storeWithClients(): KeyStore {
  const store = new KeyStore({ clock: () => NOW });
  store.swap({ current: { key: KEY, source: 'file' } });
  const records: ClientRecord[] = [
    { name: 'alice', sha256: digestOf(ALICE), created: new Date(NOW), expires: new Date(NOW + 2 * DAY),
      previous: { sha256: digestOf(ALICE_OLD), rotated: new Date(NOW), until: new Date(NOW + DAY) } },
    { name: 'bob', sha256: digestOf(BOB), created: new Date(NOW) },
  ];
  store.swapClients(new ClientTable(records, { graceMs: 0, maxGraceMs: 7 * DAY }));
  return store;
}

const get = async (url: string, key: string) => {
  const res = await fetch(url, { headers: { 'X-API-Key': key } });
  return { status: res.status, text: await res.text() };
};

describe('app: named keys', () => {
  it('accepts a named key and names its client in the access line (apiClient), the peer staying in client', async () => {
    const app = await startApp({ store: storeWithClients(), clock: () => NOW });
    try {
      expect((await get(`${app.url}/api/v1/health`, BOB)).status).to.equal(200);
      expect((await get(`${app.url}/api/v1/health`, KEY)).status).to.equal(200);
      expect((await get(`${app.url}/api/v1/health`, BOB + 'x')).status).to.equal(401);
      const lines = app.logs.filter((l) => l.message === 'request');
      expect(lines.map((l) => [l.apiClient, l.client, l.status])).to.deep.equal([['bob', '127.0.0.1', 200], ['default', '127.0.0.1', 200], [undefined, '127.0.0.1', 401]]);
      expect(JSON.stringify(app.logs)).to.not.include(BOB.slice(8, 30));
    } finally {
      await app.close();
    }
  });

  it('counts requests per client and a named previous key apart from the static key\'s', async () => {
    const app = await startApp({ store: storeWithClients(), clock: () => NOW });
    try {
      for (const key of [ALICE, ALICE, ALICE_OLD, BOB, KEY]) expect((await get(`${app.url}/api/v1/health`, key)).status).to.equal(200);
      const { text } = await get(`${app.url}/metrics`, KEY);
      expect(text).to.include('qwen_client_requests_total{client="alice"} 3');
      expect(text).to.include('qwen_client_requests_total{client="bob"} 1');
      expect(text, 'the health request and this scrape').to.include('qwen_client_requests_total{client="default"} 2');
      expect(text).to.include('qwen_client_previous_key_total 1');
      expect(text).to.match(/qwen_auth_previous_key_total 0\b/);
    } finally {
      await app.close();
    }
  });

  it('shows each key\'s expiry and how many are active and expiring within a week in the metrics', async () => {
    const app = await startApp({ store: storeWithClients(), clock: () => NOW });
    try {
      const { text } = await get(`${app.url}/metrics`, KEY);
      expect(text).to.include(`qwen_client_key_expiry_seconds{client="alice"} ${(NOW + 2 * DAY) / 1000}`);
      expect(text).to.not.include('qwen_client_key_expiry_seconds{client="bob"}');
      expect(text).to.include('qwen_client_keys{state="active"} 2');
      expect(text).to.include('qwen_client_keys{state="expired"} 0');
      expect(text).to.include('qwen_client_keys_expiring_soon 1');
    } finally {
      await app.close();
    }
  });

  it('describes the named keys in health by name and fingerprint, never by key or digest', async () => {
    const store = storeWithClients();
    const reload = { outcome: 'rejected', trigger: 'retry', reason: 'CLIENTS_INVALID', at: new Date(NOW) };
    const app = await startApp({ store, clock: () => NOW, status: () => ({ accepting: true, clientsReload: reload }) });
    try {
      const { text } = await get(`${app.url}/api/v1/health`, KEY);
      const clients = (JSON.parse(text) as { clients: unknown }).clients;
      expect(clients).to.deep.equal({
        active: 2, expired: 0, previousKeys: 1, expiringSoonCount: 1,
        expiringSoon: [{ name: 'alice', fingerprint: `sha256:${digestOf(ALICE).slice(0, 12)}`, expires: new Date(NOW + 2 * DAY).toISOString() }],
        lastReload: { outcome: 'rejected', trigger: 'retry', reason: 'CLIENTS_INVALID', at: new Date(NOW).toISOString() },
      });
      for (const secret of [ALICE, BOB, digestOf(ALICE)]) expect(text).to.not.include(secret);
    } finally {
      await app.close();
    }
  });

  it('follows a change of the named keys at once, though health is cached per second', async () => {
    const store = storeWithClients();
    const app = await startApp({ store, clock: () => NOW });
    try {
      const active = async () => (JSON.parse((await get(`${app.url}/api/v1/health`, KEY)).text) as { clients: { active: number } }).clients.active;
      expect(await active()).to.equal(2);
      store.swapClients(ClientTable.EMPTY);
      expect(await active()).to.equal(0);
    } finally {
      await app.close();
    }
  });
});

describe('metrics: per-client series', () => {
  const sample = async (metrics: Metrics, client: string) => {
    const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`qwen_client_requests_total{client="${client}"} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it(`gives at most ${MAX_CLIENT_SERIES} client label values, counting the rest together under other`, async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.authenticated({ client: 'default', key: 'current' });
    for (let i = 0; i < MAX_CLIENT_SERIES + 50; i++) metrics.authenticated({ client: `c${i}`, key: 'current' });
    metrics.authenticated({ client: 'c0', key: 'current' });
    const text = await metrics.registry.metrics();
    const labels = [...text.matchAll(/^qwen_client_requests_total\{client="([^"]+)"\}/gm)].map((m) => m[1]);
    expect(labels).to.have.length(MAX_CLIENT_SERIES);
    expect(await sample(metrics, 'c0')).to.equal(2);
    expect(await sample(metrics, `c${MAX_CLIENT_SERIES - 3}`)).to.equal(1);
    expect(await sample(metrics, `c${MAX_CLIENT_SERIES - 2}`)).to.equal(undefined);
    expect(await sample(metrics, 'other')).to.equal(52);
  });

  it('shows no other series while every client has its own', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.authenticated({ client: 'alice', key: 'current' });
    expect(await sample(metrics, 'alice')).to.equal(1);
    expect(await sample(metrics, 'other')).to.equal(undefined);
  });

  it('counts clients file reloads by result, unchanged re-reads not at all', async () => {
    const metrics = createMetrics({ store: new KeyStore(), processMetrics: false });
    metrics.clientsReload('loaded');
    metrics.clientsReload('unchanged');
    metrics.clientsReload('rejected');
    metrics.clientsReload('rejected');
    const text = await metrics.registry.metrics();
    expect(text).to.include('qwen_clients_reloads_total{result="loaded"} 1');
    expect(text).to.include('qwen_clients_reloads_total{result="rejected"} 2');
  });

  it(`shows the expiry of the ${MAX_CLIENT_SERIES} keys expiring soonest`, async () => {
    const store = new KeyStore({ clock: () => NOW });
    const records = Array.from({ length: MAX_CLIENT_SERIES + 5 }, (_, i): ClientRecord => ({
      name: `c${i}`, sha256: digestOf(`k${i}`), created: new Date(NOW), expires: new Date(NOW + (i + 1) * 1000),
    }));
    store.swapClients(new ClientTable(records, { graceMs: 0, maxGraceMs: DAY }));
    const metrics = createMetrics({ store, processMetrics: false, clock: () => NOW });
    const text = await metrics.registry.metrics();
    expect(text.match(/^qwen_client_key_expiry_seconds\{/gm)).to.have.length(MAX_CLIENT_SERIES);
    expect(text).to.include(`qwen_client_key_expiry_seconds{client="c0"} ${NOW / 1000 + 1}`);
    expect(text).to.not.include(`{client="c${MAX_CLIENT_SERIES}"}`);
  });
});
