import { join } from 'node:path';
import { makeCertificate } from '../lib/certificate.js';
import { makeKeyDir, startDaemon } from '../lib/daemon.js';
import { h2Load } from '../lib/h2-load.js';
import type { H2LoadResult } from '../lib/h2-load.js';
import { alternatingRounds } from '../lib/load.js';
import type { RoundsResult, Target } from '../lib/load.js';
import type { RunningServer } from '../lib/process.js';
import { startBare } from '../lib/servers.js';
import { cpuSeconds } from '../lib/procstat.js';
import type { Metric, Section } from '../lib/section.js';
import { median, round } from '../lib/stats.js';

const PATH = '/api/v1/health';

/**
 * The daemon serving HTTPS (`--tls-cert/--tls-key`, an HTTP/2 server that also takes HTTP/1.1) against
 * bare Koa with the same certificate: on node:https, and on the same kind of HTTP/2 server. Three
 * measures: keep-alive HTTP/1.1 throughput (autocannon), HTTP/2 throughput (a node:http2 client loop),
 * and the handshake rate (autocannon on a new connection, so a full TLS handshake, per request).
 */
export const tls: Section = {
  id: 'tls',
  title: 'HTTPS: health throughput vs bare Koa over TLS (HTTP/1.1 and HTTP/2), and TLS handshakes per second',
  async run(settings) {
    const keys = await makeKeyDir();
    const servers: RunningServer[] = [];
    try {
      const cert = await makeCertificate(join(keys.dir, 'api'));
      const tlsArgs = ['--tls-cert', cert.cert, '--tls-key', cert.key];
      const origin = (s: RunningServer) => `https://127.0.0.1:${s.port}`;
      const start = async (run: () => Promise<RunningServer>) => { const s = await run(); servers.push(s); return s; };
      const daemon = await start(() => startDaemon(keys.keyFile, tlsArgs));
      const plain = await start(() => startDaemon(keys.keyFile));
      const koaHttps = await start(() => startBare('bare-koa', tlsArgs));
      const koaH2 = await start(() => startBare('bare-koa', [...tlsArgs, '--h2']));
      const key = { 'x-api-key': keys.key };
      const daemonTarget: Target = { name: 'daemon TLS', url: origin(daemon) + PATH, headers: key, pid: daemon.pid };
      const koaHttpsTarget: Target = { name: 'bare Koa https', url: origin(koaHttps) + PATH, pid: koaHttps.pid };
      const koaH2Target: Target = { name: 'bare Koa http2 server', url: origin(koaH2) + PATH, pid: koaH2.pid };

      settings.log(`  HTTP/1.1 keep-alive: ${settings.rounds} alternating rounds x ${settings.roundSeconds} s, ${settings.connections} connections`);
      const h1 = await alternatingRounds([daemonTarget, koaHttpsTarget, koaH2Target,
        { name: 'daemon plain HTTP', url: plain.url + PATH, headers: key, pid: plain.pid }], settings);

      settings.log(`  HTTP/2: ${settings.rounds} alternating rounds x ${settings.roundSeconds} s, 4 sessions x 8 streams`);
      const h2 = await h2Rounds([{ name: 'daemon TLS', origin: origin(daemon), headers: key, pid: daemon.pid },
        { name: 'bare Koa http2 server', origin: origin(koaH2), pid: koaH2.pid }], settings);

      // `Connection: close`: the server closes after each answer and autocannon reconnects (its reconnectRate
      // option would do the same but leaves those answers uncounted), so each request is a full handshake.
      settings.log(`  handshakes: ${settings.rounds} alternating rounds x ${settings.roundSeconds} s, ${settings.connections} connections, a new one per request`);
      const close = { connection: 'close' };
      const handshakes = await alternatingRounds([
        { ...daemonTarget, headers: { ...key, ...close } }, { ...koaHttpsTarget, headers: close }], settings);

      return { metrics: [...h1Metrics(h1), ...h2Metrics(h2), ...handshakeMetrics(handshakes)], details: { h1, h2, handshakes } };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await keys.cleanup();
    }
  },
};

type H2Target = { name: string; origin: string; headers?: Record<string, string>; pid: number };
type H2Round = H2LoadResult & { cpuUsPerRequest: number };
type H2Rounds = { name: string; rps: number; cpuUsPerRequest: number; failed: number; rounds: H2Round[] };

/** HTTP/2 rounds taking the servers in turn, after a warm-up each; medians of req/s and of the server's CPU per request. */
async function h2Rounds(targets: H2Target[], settings: Parameters<Section['run']>[0]): Promise<H2Rounds[]> {
  const runs = new Map<string, H2Round[]>(targets.map((t) => [t.name, []]));
  const run = async (t: H2Target, seconds: number): Promise<H2Round> => {
    const before = await cpuSeconds(t.pid);
    const result = await h2Load({ origin: t.origin, path: PATH, headers: t.headers, sessions: 4, streams: 8, seconds });
    return { ...result, cpuUsPerRequest: ((await cpuSeconds(t.pid)) - before) / result.total * 1e6 };
  };
  for (const t of targets) await run(t, settings.warmupSeconds);
  for (let i = 0; i < settings.rounds; i++) for (const t of targets) runs.get(t.name)!.push(await run(t, settings.roundSeconds));
  return targets.map((t) => {
    const rounds = runs.get(t.name)!;
    return { name: t.name, rps: median(rounds.map((r) => r.rps)), cpuUsPerRequest: median(rounds.map((r) => r.cpuUsPerRequest)),
      failed: rounds.reduce((n, r) => n + r.non2xx + r.errors, 0), rounds };
  });
}

function perTarget(results: RoundsResult[], label: string, unit: string): Metric[] {
  return results.flatMap((r) => [
    { name: `${label}: ${r.name} ${unit} (median)`, value: Math.round(r.rps) },
    ...(r.cpuUsPerRequest === undefined ? [] : [{ name: `${label}: ${r.name} CPU per request (median)`, value: round(r.cpuUsPerRequest, 1), unit: 'us' }]),
    ...(r.non2xx + r.errors > 0 ? [{ name: `${label}: ${r.name} non-2xx + errors`, value: r.non2xx + r.errors, goal: '0', met: false }] : []),
  ]);
}

function h1Metrics(results: RoundsResult[]): Metric[] {
  const [daemon, https, h2server, plain] = results as [RoundsResult, RoundsResult, RoundsResult, RoundsResult];
  return [
    ...perTarget(results, 'HTTP/1.1', 'req/s'),
    { name: 'HTTP/1.1: daemon TLS / bare Koa https', value: round(daemon.rps / https.rps), unit: 'x' },
    { name: 'HTTP/1.1: daemon TLS / bare Koa on an http2 server', value: round(daemon.rps / h2server.rps), unit: 'x' },
    { name: 'HTTP/1.1: daemon TLS / daemon plain HTTP', value: round(daemon.rps / plain.rps), unit: 'x' },
  ];
}

function h2Metrics(results: H2Rounds[]): Metric[] {
  const [daemon, koa] = results as [H2Rounds, H2Rounds];
  return [
    ...results.flatMap((r) => [{ name: `HTTP/2: ${r.name} req/s (median)`, value: Math.round(r.rps) },
      { name: `HTTP/2: ${r.name} CPU per request (median)`, value: round(r.cpuUsPerRequest, 1), unit: 'us' }]),
    ...results.filter((r) => r.failed > 0).map((r) => ({ name: `HTTP/2: ${r.name} non-2xx + errors`, value: r.failed, goal: '0', met: false })),
    { name: 'HTTP/2: daemon TLS / bare Koa on an http2 server', value: round(daemon.rps / koa.rps), unit: 'x' },
    { name: 'HTTP/2: daemon CPU per request / bare Koa\'s', value: round(daemon.cpuUsPerRequest / koa.cpuUsPerRequest), unit: 'x' },
  ];
}

function handshakeMetrics(results: RoundsResult[]): Metric[] {
  const [daemon, koa] = results as [RoundsResult, RoundsResult];
  return [
    ...perTarget(results, 'new TLS connections', 'per s'),
    { name: 'handshakes: daemon TLS / bare Koa https', value: round(daemon.rps / koa.rps), unit: 'x' },
  ];
}
