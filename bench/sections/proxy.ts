import { Prober, SkipError, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { alternatingRounds } from '../lib/load.js';
import { startBare } from '../lib/servers.js';
import type { RunningServer } from '../lib/process.js';
import type { Section } from '../lib/section.js';
import { round } from '../lib/stats.js';

const PATH = '/api/v1/edit/status';

/** Section 6: requests proxied by the daemon (`--upstream`) against the same requests sent to the upstream directly. */
export const proxy: Section = {
  id: 'proxy',
  title: 'Gateway: proxied throughput vs direct requests to the same upstream',
  async run(settings) {
    const keys = await makeKeyDir();
    const servers: RunningServer[] = [];
    try {
      const upstream = await startBare('upstream');
      servers.push(upstream);
      const daemon = await startDaemon(keys.keyFile, ['--upstream', upstream.url]);
      servers.push(daemon);
      const prober = new Prober(daemon.url);
      const status = await prober.status(PATH, keys.key).finally(() => prober.close());
      if (status !== 200) throw new SkipError(`daemon answered ${status} for a proxied route (forwarding not on this branch)`);
      const [via, direct] = await alternatingRounds([
        { name: 'via daemon', url: daemon.url + PATH, headers: { 'x-api-key': keys.key } },
        { name: 'direct', url: upstream.url + PATH },
      ], settings);
      return {
        metrics: [
          { name: 'direct req/s (median)', value: Math.round(direct!.rps) },
          { name: 'direct p99', value: direct!.p99Ms, unit: 'ms' },
          { name: 'via daemon req/s (median)', value: Math.round(via!.rps) },
          { name: 'via daemon p99', value: via!.p99Ms, unit: 'ms' },
          { name: 'via daemon / direct', value: round(via!.rps / direct!.rps), unit: 'x' },
          { name: 'via daemon non-2xx + errors', value: via!.non2xx + via!.errors, goal: '0', met: via!.non2xx + via!.errors === 0 },
        ],
        details: { via, direct },
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await keys.cleanup();
    }
  },
};
