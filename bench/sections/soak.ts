import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_JS, SkipError, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { mib, usage } from '../lib/procstat.js';
import { rotateWithCli, startRotatingClients } from '../lib/rotating-clients.js';
import type { RotatingClients } from '../lib/rotating-clients.js';
import type { Section } from '../lib/section.js';

const CLIENTS = 16;
/** A steady load, not a saturating one: what a daemon in service sees, leaving the CLI room to run. */
const REQUESTS_PER_SECOND = 2000;
const ROTATE_EVERY_MS = 2000;
const SAMPLE_EVERY_MS = 30_000;
const SWITCH_AFTER_MS = 100;

/**
 * Opt-in section (`--only soak`; `SOAK_MINUTES`, default 10): steady keyed load while the real CLI
 * rotates the key every 2 s, sampling the daemon's resident memory and descriptors every 30 s.
 */
export const soak: Section = {
  id: 'soak',
  optIn: true,
  title: `Soak: ${REQUESTS_PER_SECOND} req/s from ${CLIENTS} keep-alive clients, a CLI rotation every ${ROTATE_EVERY_MS / 1000} s (--grace 30s)`,
  async run(settings) {
    if (!existsSync(CLI_JS)) throw new SkipError('dist/cli.js not built yet');
    const minutes = settings.quick ? 1 : Number(process.env.SOAK_MINUTES ?? 10);
    if (!(minutes >= 1)) throw new SkipError(`SOAK_MINUTES must be at least 1, not ${process.env.SOAK_MINUTES}`);
    const keys = await makeKeyDir();
    const daemon = await startDaemon(keys.keyFile, ['--grace', '30s']).catch(async (err: unknown) => { await keys.cleanup(); throw err; });
    let clients: RotatingClients | undefined;
    try {
      clients = startRotatingClients(daemon.url, keys.key, {
        path: '/api/v1/health', connections: CLIENTS, overallRate: REQUESTS_PER_SECOND, maxSeconds: minutes * 60 + 60,
      });
      const samples: { atS: number; rssMiB: number; fds: number; rotations: number }[] = [];
      const t0 = performance.now();
      let rotations = 0;
      let nextSample = t0 + SAMPLE_EVERY_MS;
      while (performance.now() - t0 < minutes * 60_000) {
        clients.switchTo(await rotateWithCli(keys), SWITCH_AFTER_MS);
        rotations++;
        await sleep(ROTATE_EVERY_MS);
        if (performance.now() >= nextSample) {
          nextSample += SAMPLE_EVERY_MS;
          const { rss, fds } = await usage(daemon.pid);
          const sample = { atS: Math.round((performance.now() - t0) / 1000), rssMiB: mib(rss), fds, rotations };
          samples.push(sample);
          settings.log(`  ${sample.atS} s: RSS ${sample.rssMiB} MiB, ${sample.fds} fds, ${rotations} rotations`);
        }
      }
      await sleep(500);
      const r = await clients.stop();
      clients = undefined;
      const first = samples[0]!;
      const last = samples.at(-1)!;
      const later = samples.filter((s) => s.atS >= 60);
      const peak = Math.max(...later.map((s) => s.rssMiB));
      const growth = Math.round((peak - (later[0] ?? first).rssMiB) * 10) / 10;
      return {
        metrics: [
          { name: `duration; CLI rotations`, value: `${minutes} min; ${rotations}` },
          { name: 'requests sent', value: r.total },
          { name: 'non-2xx answers + connection errors', value: r.non2xx + r.errors, goal: '0', met: r.non2xx + r.errors === 0 },
          { name: `RSS at ${first.atS} s -> at the end`, value: `${first.rssMiB} -> ${last.rssMiB}`, unit: 'MiB' },
          { name: 'RSS peak after the first minute, above its value at 1 min', value: growth, unit: 'MiB', goal: '< 10', met: growth < 10 },
          { name: 'open fds first -> last sample', value: `${first.fds} -> ${last.fds}`, goal: 'flat', met: last.fds <= first.fds },
        ],
        details: { minutes, rotations, samples, ...r },
      };
    } finally {
      await clients?.stop().catch(() => undefined);
      await daemon.stop();
      await keys.cleanup();
    }
  },
};
