import { setTimeout as sleep } from 'node:timers/promises';
import { Prober, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { startBare } from '../lib/servers.js';
import { mib, rssBytes } from '../lib/procstat.js';
import type { RunningServer } from '../lib/process.js';
import type { Section } from '../lib/section.js';
import { median, round } from '../lib/stats.js';

/** Section 5: process start to `/readyz` 200, and resident memory once idle; bare Koa for scale. */
export const startup: Section = {
  id: 'startup',
  title: 'Start-up: process spawn -> /readyz 200, and idle RSS',
  async run(settings) {
    const runs = settings.quick ? 2 : 5;
    const keys = await makeKeyDir();
    try {
      const daemon = await measure(runs, () => startDaemon(keys.keyFile), '/readyz');
      const koa = await measure(runs, () => startBare('bare-koa'), undefined);
      return {
        metrics: [
          { name: `daemon spawn -> /readyz 200 (median of ${runs})`, value: round(daemon.readyMs, 1), unit: 'ms' },
          { name: 'daemon spawn -> "listening" line', value: round(daemon.listeningMs, 1), unit: 'ms' },
          { name: 'daemon idle RSS', value: mib(daemon.rss), unit: 'MiB' },
          { name: 'bare Koa spawn -> listening', value: round(koa.listeningMs, 1), unit: 'ms' },
          { name: 'bare Koa idle RSS', value: mib(koa.rss), unit: 'MiB' },
        ],
        details: { daemon, koa },
      };
    } finally {
      await keys.cleanup();
    }
  },
};

async function measure(runs: number, start: () => Promise<RunningServer>, readyPath: string | undefined) {
  const ready: number[] = [];
  const listening: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const server = await start();
    const prober = new Prober(server.url);
    try {
      listening.push(server.listeningAt - server.spawnedAt);
      if (readyPath) {
        while ((await prober.status(readyPath)) !== 200) {
          if (performance.now() - server.spawnedAt > 10_000) throw new Error(`${readyPath} not 200 within 10 s`);
          await sleep(1);
        }
        ready.push(performance.now() - server.spawnedAt);
      }
      await sleep(2000);
      rss.push(await rssBytes(server.pid));
    } finally {
      await prober.close();
      await server.stop();
    }
  }
  return { readyMs: median(ready), listeningMs: median(listening), rss: median(rss) };
}
