import { alternatingRounds } from '../lib/load.js';
import type { Target } from '../lib/load.js';
import { SkipError, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { startBare } from '../lib/servers.js';
import type { RunningServer } from '../lib/process.js';
import type { Metric, Section } from '../lib/section.js';
import { mib, rssBytes } from '../lib/procstat.js';
import { round } from '../lib/stats.js';

const PATH = '/api/v1/health';

/** Section 1: the daemon's keyed health route against bare Koa and bare node:http serving the same JSON. */
export const throughput: Section = {
  id: 'throughput',
  title: 'GET /api/v1/health throughput: daemon vs bare Koa vs bare node:http',
  async run(settings) {
    const keys = await makeKeyDir();
    const servers: RunningServer[] = [];
    const notes: string[] = [];
    try {
      const targets: Target[] = [];
      try {
        const daemon = await startDaemon(keys.keyFile, [], settings.profileDir ? ['--cpu-prof', '--cpu-prof-dir', settings.profileDir] : []);
        servers.push(daemon);
        targets.push({ name: 'daemon', url: daemon.url + PATH, headers: { 'x-api-key': keys.key }, pid: daemon.pid });
      } catch (err) {
        if (!(err instanceof SkipError)) throw err;
        notes.push(`daemon skipped: ${err.message}`);
      }
      for (const name of ['bare-koa', 'bare-http'] as const) {
        const server = await startBare(name);
        servers.push(server);
        targets.push({ name, url: server.url + PATH, pid: server.pid });
      }
      settings.log(`  ${settings.rounds} alternating rounds x ${settings.roundSeconds} s, ${settings.connections} connections: ${targets.map((t) => t.name).join(', ')}`);
      const results = await alternatingRounds(targets, settings);
      // Resident memory once the rounds are over: after this much load V8's young generation has grown to its cap.
      const rssAfterLoad = new Map(await Promise.all(targets.map(async (t) => [t.name, await rssBytes(t.pid!)] as const)));
      const koa = results.find((r) => r.name === 'bare-koa')!;
      const http = results.find((r) => r.name === 'bare-http')!;
      const metrics: Metric[] = [];
      for (const r of results) {
        metrics.push({ name: `${r.name} req/s (median)`, value: Math.round(r.rps) });
        metrics.push({ name: `${r.name} p99 latency (median)`, value: r.p99Ms, unit: 'ms' });
        if (r.cpuUsPerRequest !== undefined) metrics.push({ name: `${r.name} CPU per request (median)`, value: round(r.cpuUsPerRequest, 1), unit: 'us' });
        const rss = rssAfterLoad.get(r.name);
        if (rss !== undefined) metrics.push({ name: `${r.name} RSS after the rounds`, value: mib(rss), unit: 'MiB' });
        if (r.non2xx + r.errors > 0) metrics.push({ name: `${r.name} non-2xx + errors`, value: r.non2xx + r.errors, goal: '0', met: false });
      }
      const daemon = results.find((r) => r.name === 'daemon');
      if (daemon) {
        const ratio = round(daemon.rps / koa.rps);
        metrics.push({ name: 'daemon / bare Koa', value: ratio, unit: 'x', goal: '>= 0.9', met: ratio >= 0.9 });
        metrics.push({ name: 'daemon / bare node:http', value: round(daemon.rps / http.rps), unit: 'x' });
        if (daemon.cpuUsPerRequest !== undefined && koa.cpuUsPerRequest !== undefined) {
          metrics.push({ name: 'daemon CPU per request / bare Koa\'s', value: round(daemon.cpuUsPerRequest / koa.cpuUsPerRequest), unit: 'x' });
        }
      }
      metrics.push({ name: 'bare Koa / bare node:http', value: round(koa.rps / http.rps), unit: 'x' });
      return { metrics, notes, details: results };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await keys.cleanup();
    }
  },
};
