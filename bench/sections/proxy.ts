import { Prober, SkipError, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { alternatingRounds } from '../lib/load.js';
import { startBare } from '../lib/servers.js';
import type { RunningServer } from '../lib/process.js';
import type { Metric, Section } from '../lib/section.js';
import { round } from '../lib/stats.js';

const PATH = '/api/v1/edit/status';

/**
 * Section 6: requests proxied by the daemon (`--upstream`) against the same requests sent to the upstream
 * directly, and, for scale, through the least a Node proxy can be (`bench/servers/bare-proxy.ts`).
 */
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
      const bare = await startBare('bare-proxy', ['--upstream', upstream.url]);
      servers.push(bare);
      const [via, direct, minimal] = await alternatingRounds([
        { name: 'via daemon', url: daemon.url + PATH, headers: { 'x-api-key': keys.key }, pid: daemon.pid },
        { name: 'direct', url: upstream.url + PATH, pid: upstream.pid },
        { name: 'via bare proxy', url: bare.url + PATH, pid: bare.pid },
      ], settings);
      const metrics: Metric[] = [
        { name: 'direct req/s (median)', value: Math.round(direct!.rps) },
        { name: 'direct p99', value: direct!.p99Ms, unit: 'ms' },
        { name: 'via daemon req/s (median)', value: Math.round(via!.rps) },
        { name: 'via daemon p99', value: via!.p99Ms, unit: 'ms' },
        { name: 'via daemon / direct', value: round(via!.rps / direct!.rps), unit: 'x' },
        { name: 'via bare node:http + undici proxy / direct', value: round(minimal!.rps / direct!.rps), unit: 'x' },
        { name: 'daemon CPU per proxied request (median)', value: round(via!.cpuUsPerRequest ?? Number.NaN, 1), unit: 'us' },
        { name: 'bare proxy CPU per proxied request (median)', value: round(minimal!.cpuUsPerRequest ?? Number.NaN, 1), unit: 'us' },
        { name: 'upstream CPU per direct request (median)', value: round(direct!.cpuUsPerRequest ?? Number.NaN, 1), unit: 'us' },
        { name: 'via daemon non-2xx + errors', value: via!.non2xx + via!.errors, goal: '0', met: via!.non2xx + via!.errors === 0 },
      ];
      return {
        metrics,
        notes: ['load generator, daemon and upstream share the cores: a proxied request costs the upstream\'s work plus a whole second HTTP exchange (two more socket reads and writes), so the ratio is bounded well below 1 here; the bare proxy shows the bound'],
        details: { via, direct, minimal },
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await keys.cleanup();
    }
  },
};
