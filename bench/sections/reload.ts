import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey } from '../../src/core/key.js';
import { Prober, makeKeyDir, stageKey, startDaemon } from '../lib/daemon.js';
import type { Metric, Section } from '../lib/section.js';
import { percentile, round } from '../lib/stats.js';

const PATH = '/api/v1/health';
const GIVE_UP_MS = 3000;
const WARM_UP = 3;

/** Section 2: time from an atomic rename of the key file to the first request the new key gets through. */
export const reload: Section = {
  id: 'reload',
  title: 'Reload latency: atomic rename -> first request accepted with the new key',
  async run(settings) {
    const keys = await makeKeyDir();
    const daemon = await startDaemon(keys.keyFile).catch(async (err: unknown) => { await keys.cleanup(); throw err; });
    const prober = new Prober(daemon.url);
    try {
      const count = settings.quick ? 10 : 30;
      // The first rotations after start run the reload path's code for the first time (14-25 ms were
      // measured for the very first one): measured apart, then the steady state a long-running daemon is in.
      const firstAfterStart = await series(prober, keys.keyFile, WARM_UP, 200);
      // Spaced: each rotation after the previous one is in force and the watcher has settled.
      const spaced = await series(prober, keys.keyFile, count, 200);
      // Quick succession: a rename every 20 ms (or as soon as the previous key is in, if that takes longer).
      const rapid = await series(prober, keys.keyFile, count, 20, true);
      const metrics: Metric[] = [{ name: `first ${WARM_UP} rotations after start (not in the figures below)`, value: firstAfterStart.map((v) => round(v)).join(', '), unit: 'ms' }];
      for (const [label, set] of [['spaced 200 ms', spaced], ['20 ms apart', rapid]] as const) {
        const ok = set.filter(Number.isFinite);
        const p99 = percentile(ok, 99);
        metrics.push({ name: `${label}: p50 (n=${set.length})`, value: round(percentile(ok, 50)), unit: 'ms' });
        metrics.push({ name: `${label}: p99`, value: round(p99), unit: 'ms', goal: '< 20', met: ok.length === set.length && p99 < 20 });
        metrics.push({ name: `${label}: max`, value: round(Math.max(...ok)), unit: 'ms' });
        if (ok.length < set.length) metrics.push({ name: `${label}: never accepted within ${GIVE_UP_MS} ms`, value: set.length - ok.length, goal: '0', met: false });
      }
      return { metrics, details: { firstAfterStartMs: firstAfterStart.map((v) => round(v, 3)), spacedMs: spaced.map((v) => round(v, 3)), rapidMs: rapid.map((v) => round(v, 3)) } };
    } finally {
      await prober.close();
      await daemon.stop();
      await keys.cleanup();
    }
  },
};

/** Runs `count` rotations, `gapMs` apart (from rename to rename when `fromRename`, else from acceptance). */
async function series(prober: Prober, keyFile: string, count: number, gapMs: number, fromRename = false): Promise<number[]> {
  const latencies: number[] = [];
  let lastRename = performance.now();
  for (let i = 0; i < count; i++) {
    const key = generateKey();
    const commit = await stageKey(keyFile, key);
    if (fromRename) await sleep(Math.max(0, lastRename + gapMs - performance.now()));
    const t0 = performance.now();
    lastRename = t0;
    await commit();
    latencies.push(await untilAccepted(prober, key, t0));
    if (!fromRename) await sleep(gapMs);
  }
  return latencies;
}

/** Polls with back-to-back requests until `key` is accepted; ms since `t0`, or Infinity after GIVE_UP_MS. */
async function untilAccepted(prober: Prober, key: string, t0: number): Promise<number> {
  for (;;) {
    if ((await prober.status(PATH, key)) === 200) return performance.now() - t0;
    if (performance.now() - t0 > GIVE_UP_MS) return Number.POSITIVE_INFINITY;
  }
}
