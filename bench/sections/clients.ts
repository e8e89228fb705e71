import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatClients } from '../../src/core/clients-format.js';
import type { ClientRecord } from '../../src/core/clients-format.js';
import { digestOf, generateKey } from '../../src/core/key.js';
import { alternatingRounds } from '../lib/load.js';
import { Prober, makeKeyDir, startDaemon } from '../lib/daemon.js';
import type { KeyDir } from '../lib/daemon.js';
import type { RunningServer } from '../lib/process.js';
import type { Metric, Section } from '../lib/section.js';
import { percentile, round } from '../lib/stats.js';

const PATH = '/api/v1/health';
const CLIENTS = 10_000;
const SMALL = 10;
const GIVE_UP_MS = 3000;
// The first reloads after start run the parse for the first time (like the key's first rotations): measured apart.
const WARM_UP = 3;

/**
 * Named keys at scale: health throughput of a daemon with 10,000 named keys against one with none (the same
 * rounds, alternating), presenting the static key and a named one; and how long a 10,000-key clients file
 * takes to reload, from its rename until a key it added is accepted (and one it dropped refused), with the
 * daemon's own read + parse + swap time from its `clients loaded` lines; and the same for a file of 10 keys.
 */
export const clients: Section = {
  id: 'clients',
  title: `Named keys: health throughput with ${CLIENTS.toLocaleString('en')} keys vs none; reloading that file`,
  async run(settings) {
    const none = await makeKeyDir();
    const many = await makeKeyDir();
    const servers: RunningServer[] = [];
    try {
      const keys = Array.from({ length: CLIENTS }, () => generateKey());
      const records = keys.map((key, i): ClientRecord => ({ name: `client-${i}`, sha256: digestOf(key), created: new Date() }));
      const clientsFile = join(many.dir, 'api', '.api_clients');
      await writeFile(clientsFile, formatClients(records), { mode: 0o600 });
      const bare = await startDaemon(none.keyFile);
      servers.push(bare);
      const loaded = await startDaemon(many.keyFile);
      servers.push(loaded);
      const named = keys[CLIENTS / 2]!;

      settings.log(`  ${settings.rounds} alternating rounds x ${settings.roundSeconds} s: no named keys, ${CLIENTS} (static key), ${CLIENTS} (a named key)`);
      const results = await alternatingRounds([
        { name: 'none', url: bare.url + PATH, headers: { 'x-api-key': none.key }, pid: bare.pid },
        { name: 'static', url: loaded.url + PATH, headers: { 'x-api-key': many.key }, pid: loaded.pid },
        { name: 'named', url: loaded.url + PATH, headers: { 'x-api-key': named }, pid: loaded.pid },
      ], settings);
      const [base, staticKey, namedKey] = results as [typeof results[0], typeof results[0], typeof results[0]];
      const metrics: Metric[] = [
        { name: 'no named keys: req/s (median)', value: Math.round(base.rps) },
        { name: `${CLIENTS} named keys, static key: req/s (median)`, value: Math.round(staticKey.rps) },
        { name: `${CLIENTS} named keys, a named key: req/s (median)`, value: Math.round(namedKey.rps) },
      ];
      for (const [label, r] of [['static key', staticKey], ['a named key', namedKey]] as const) {
        const ratio = round(r.rps / base.rps);
        metrics.push({ name: `${CLIENTS} keys / none, ${label}`, value: ratio, unit: 'x', goal: '>= 0.95', met: ratio >= 0.95 });
      }
      for (const r of results) {
        if (r.cpuUsPerRequest !== undefined) metrics.push({ name: `CPU per request (median), ${r.name}`, value: round(r.cpuUsPerRequest, 1), unit: 'us' });
        if (r.non2xx + r.errors > 0) metrics.push({ name: `${r.name}: non-2xx + errors`, value: r.non2xx + r.errors, goal: '0', met: false });
      }

      const count = settings.quick ? 5 : 20;
      settings.log(`  ${WARM_UP} + ${count} reloads of the ${CLIENTS}-key file: one client added, then removed`);
      const warmUp = await reloadSeries(loaded, many, records, WARM_UP);
      metrics.push({ name: `first ${WARM_UP} adds after start (not in the figures below)`, value: warmUp.added.map((v) => round(v)).join(', '), unit: 'ms' });
      const reloads = await reloadSeries(loaded, many, records, count);
      // The same guarantee as the key file's for an ordinary clients file (a few clients): p99 < 20 ms.
      settings.log(`  ${WARM_UP} + ${count} reloads of a ${SMALL}-key file`);
      await reloadSeries(bare, none, records.slice(0, SMALL), WARM_UP);
      const small = await reloadSeries(bare, none, records.slice(0, SMALL), count);
      for (const [label, set, goal] of [
        [`${CLIENTS} keys, add: rename -> new key accepted`, reloads.added, 50],
        [`${CLIENTS} keys, remove: rename -> key refused`, reloads.removed, 50],
        [`${CLIENTS} keys, in the daemon: read + parse + swap`, reloads.inside, 50],
        [`${SMALL} keys, add: rename -> new key accepted`, small.added, 20],
        [`${SMALL} keys, remove: rename -> key refused`, small.removed, 20],
      ] as const) {
        const p99 = percentile(set, 99);
        metrics.push({ name: `${label}, p50 (n=${set.length})`, value: round(percentile(set, 50)), unit: 'ms' });
        metrics.push({ name: `${label}, p99`, value: round(p99), unit: 'ms', goal: `< ${goal}`, met: set.every(Number.isFinite) && p99 < goal });
      }
      return { metrics, details: { throughput: results, warmUp, reloads, small } };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await none.cleanup();
      await many.cleanup();
    }
  },
};

/** Adds a client to the 10,000 (rename) until its key is accepted, then drops it until refused; `count` times. */
async function reloadSeries(daemon: RunningServer, keys: KeyDir, records: ClientRecord[], count: number) {
  const prober = new Prober(daemon.url);
  const file = join(keys.dir, 'api', '.api_clients');
  const added: number[] = [];
  const removed: number[] = [];
  const inside: number[] = [];
  // Writes `list` beside the file, renames it over, and times the rename until `key` gets `status`.
  const swap = async (list: ClientRecord[], tmp: string, key: string, status: number): Promise<number> => {
    await writeFile(tmp, formatClients(list), { mode: 0o600 });
    const logLine = daemon.nextLine((line) => line.includes('"clients loaded"'), GIVE_UP_MS);
    const t0 = performance.now();
    await rename(tmp, file);
    const latency = await until(prober, key, t0, status);
    inside.push(Number((JSON.parse(await logLine) as { ms: number }).ms));
    return latency;
  };
  try {
    for (let i = 0; i < count; i++) {
      const key = generateKey();
      const extra: ClientRecord = { name: `added-${i}`, sha256: digestOf(key), created: new Date() };
      added.push(await swap([...records, extra], `${file}.bench-a${i}.tmp`, key, 200));
      await sleep(200);
      removed.push(await swap(records, `${file}.bench-r${i}.tmp`, key, 401));
      await sleep(200);
    }
  } finally {
    await prober.close();
  }
  return { added: added.map((v) => round(v, 3)), removed: removed.map((v) => round(v, 3)), inside };
}

/** Polls with back-to-back requests until `key` gets `status`; ms since `t0`, or Infinity after GIVE_UP_MS. */
async function until(prober: Prober, key: string, t0: number, status: number): Promise<number> {
  for (;;) {
    if ((await prober.status(PATH, key)) === status) return performance.now() - t0;
    if (performance.now() - t0 > GIVE_UP_MS) return Number.POSITIVE_INFINITY;
  }
}
