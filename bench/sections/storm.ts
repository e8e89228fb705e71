import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey } from '../../src/core/key.js';
import { HEAP_PROBE, Prober, makeKeyDir, renameKeyInto, startDaemon } from '../lib/daemon.js';
import { mib, usage } from '../lib/procstat.js';
import type { RunningServer } from '../lib/process.js';
import type { Section } from '../lib/section.js';
import { round } from '../lib/stats.js';

const PATH = '/api/v1/health';

/** Section 4: thousands of back-to-back atomic renames; the last key must win and resources stay flat. */
export const storm: Section = {
  id: 'storm',
  title: 'Rotation storm: back-to-back atomic renames of the key file',
  async run(settings) {
    const count = settings.quick ? 1000 : 5000;
    const keys = await makeKeyDir();
    const daemon = await startDaemon(keys.keyFile, [], ['--expose-gc', '--import', HEAP_PROBE]).catch(async (err: unknown) => { await keys.cleanup(); throw err; });
    const prober = new Prober(daemon.url);
    try {
      for (let i = 0; i < 50; i++) await prober.status(PATH, keys.key);
      // Each storm starts just after a full collection (the probe's), so both are measured alike.
      const liveBefore = await liveHeap(daemon);
      await sleep(1000);
      const before = await usage(daemon.pid);
      const first = await rotateStorm(keys.keyFile, count, prober, keys.key);
      const after = await usage(daemon.pid);
      const liveAfter = await liveHeap(daemon);
      // The same storm again: growth the first left behind is warm-up (V8's young generation, compiled
      // code, the file-system threads' malloc arenas) or garbage not yet collected if the heap still
      // live after a full collection stays flat.
      await sleep(1000);
      const beforeSecond = await usage(daemon.pid);
      const second = await rotateStorm(keys.keyFile, count, prober, first.last);
      const afterSecond = await usage(daemon.pid);
      const liveAfterSecond = await liveHeap(daemon);
      const growth = mib(after.rss - before.rss);
      const secondGrowth = mib(afterSecond.rss - beforeSecond.rss);
      settings.log(`  ${count} renames in ${Math.round(first.renameMs)} ms, again in ${Math.round(second.renameMs)} ms`);
      return {
        metrics: [
          { name: `rotations (renames in ${round(first.renameMs / 1000, 1)} s)`, value: count },
          { name: 'final key in force (2 s after the storm)', value: first.finalAccepted ? 'yes' : 'NO', goal: 'yes', met: first.finalAccepted },
          { name: 'final key accepted after last rename', value: Number.isFinite(first.inForceAfterMs) ? round(first.inForceAfterMs) : 'never', unit: 'ms' },
          { name: 'key before the last rejected (grace 0)', value: first.previousRejected ? 'yes' : 'no' },
          { name: 'RSS before -> after', value: `${mib(before.rss)} -> ${mib(after.rss)}`, unit: 'MiB' },
          { name: 'RSS growth', value: growth, unit: 'MiB', goal: '< 10', met: growth < 10 },
          { name: 'open fds before -> after', value: `${before.fds} -> ${after.fds}`, goal: 'flat', met: after.fds <= before.fds },
          { name: `a second storm of ${count}: final key in force`, value: second.finalAccepted ? 'yes' : 'NO', goal: 'yes', met: second.finalAccepted },
          { name: 'a second storm: RSS growth', value: secondGrowth, unit: 'MiB' },
          { name: 'a second storm: open fds after', value: afterSecond.fds, goal: 'flat', met: afterSecond.fds <= before.fds },
          { name: 'heap live after a full GC: before -> first -> second storm', value: [liveBefore, liveAfter, liveAfterSecond].map(mib).join(' -> '), unit: 'MiB' },
        ],
        details: { count, before, after, beforeSecond, afterSecond, liveHeap: [liveBefore, liveAfter, liveAfterSecond], first: withoutKey(first), second: withoutKey(second) },
      };
    } finally {
      await prober.close();
      await daemon.stop();
      await keys.cleanup();
    }
  },
};

/** Makes the daemon collect all garbage (bench/lib/heap-probe.mjs) and returns the bytes still live on its heap. */
async function liveHeap(daemon: RunningServer): Promise<number> {
  const answer = daemon.nextLine((line) => line.startsWith('{"heapProbe"'));
  try {
    process.kill(daemon.pid, 'SIGUSR2');
  } catch (err) {
    answer.catch(() => undefined); // the daemon is gone: the kill's error is the one to report
    throw err;
  }
  return (JSON.parse(await answer) as { heapProbe: { heapUsed: number } }).heapProbe.heapUsed;
}

/** `count` back-to-back renames starting from key `from`; then how soon the last key is in force, and whether it stays so. */
async function rotateStorm(keyFile: string, count: number, prober: Prober, from: string) {
  let previous = from;
  let last = from;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    previous = last;
    last = generateKey();
    await renameKeyInto(keyFile, last);
  }
  const tEnd = performance.now();
  let inForceAfterMs = Number.POSITIVE_INFINITY;
  while (performance.now() - tEnd < 5000) {
    if ((await prober.status(PATH, last)) === 200) { inForceAfterMs = performance.now() - tEnd; break; }
    await sleep(2);
  }
  await sleep(2000);
  const previousRejected = (await prober.status(PATH, previous)) === 401;
  const finalAccepted = (await prober.status(PATH, last)) === 200;
  return { last, renameMs: tEnd - t0, inForceAfterMs, previousRejected, finalAccepted };
}

/** A storm's figures for the results file, without its last key. */
function withoutKey({ last: _last, ...figures }: Awaited<ReturnType<typeof rotateStorm>>) {
  return figures;
}
