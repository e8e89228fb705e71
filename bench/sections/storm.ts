import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey } from '../../src/key.js';
import { Prober, makeKeyDir, renameKeyInto, startDaemon } from '../lib/daemon.js';
import { fdCount, mib, rssBytes } from '../lib/procstat.js';
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
    const daemon = await startDaemon(keys.keyFile).catch(async (err: unknown) => { await keys.cleanup(); throw err; });
    const prober = new Prober(daemon.url);
    try {
      for (let i = 0; i < 50; i++) await prober.status(PATH, keys.key);
      await sleep(1000);
      const before = { rss: await rssBytes(daemon.pid), fds: await fdCount(daemon.pid) };
      let previous = keys.key;
      let last = keys.key;
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        previous = last;
        last = generateKey();
        await renameKeyInto(keys.keyFile, last);
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
      const after = { rss: await rssBytes(daemon.pid), fds: await fdCount(daemon.pid) };
      const growth = mib(after.rss - before.rss);
      settings.log(`  ${count} renames in ${Math.round(tEnd - t0)} ms`);
      return {
        metrics: [
          { name: `rotations (renames in ${round((tEnd - t0) / 1000, 1)} s)`, value: count },
          { name: 'final key in force (2 s after the storm)', value: finalAccepted ? 'yes' : 'NO', goal: 'yes', met: finalAccepted },
          { name: 'final key accepted after last rename', value: Number.isFinite(inForceAfterMs) ? round(inForceAfterMs) : 'never', unit: 'ms' },
          { name: 'key before the last rejected (grace 0)', value: previousRejected ? 'yes' : 'no' },
          { name: 'RSS before -> after', value: `${mib(before.rss)} -> ${mib(after.rss)}`, unit: 'MiB' },
          { name: 'RSS growth', value: growth, unit: 'MiB', goal: '< 10', met: growth < 10 },
          { name: 'open fds before -> after', value: `${before.fds} -> ${after.fds}`, goal: 'flat', met: after.fds <= before.fds },
        ],
        details: { count, renameSeconds: (tEnd - t0) / 1000, before, after, inForceAfterMs },
      };
    } finally {
      await prober.close();
      await daemon.stop();
      await keys.cleanup();
    }
  },
};
