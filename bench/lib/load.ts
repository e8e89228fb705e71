import autocannon from 'autocannon';
import type { Options, Result } from 'autocannon';
import { cpuSeconds } from './procstat.js';
import { median } from './stats.js';

/** One load run's figures; `cpuUsPerRequest` is the server process's CPU time per answered request, when its pid is known. */
export interface LoadResult { rps: number; p50Ms: number; p99Ms: number; total: number; non2xx: number; errors: number; cpuUsPerRequest?: number }

/** Runs autocannon once against `url` and summarises it. */
export async function load(options: Options): Promise<LoadResult> {
  const result = await new Promise<Result>((resolve, reject) => {
    autocannon(options, (err, res) => (err ? reject(err) : resolve(res)));
  });
  return summarise(result);
}

/** The figures kept from an autocannon result. */
export function summarise(result: Result): LoadResult {
  return {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** A load target: a name, how to hit it, and the server's pid (to measure its CPU time per request). */
export interface Target { name: string; url: string; headers?: Record<string, string>; pid?: number }

/** Medians per target over alternating rounds. */
export interface RoundsResult { name: string; rps: number; p99Ms: number; cpuUsPerRequest?: number; non2xx: number; errors: number; rounds: LoadResult[] }

/** Settings shared by every round. */
export interface RoundSettings { rounds: number; roundSeconds: number; warmupSeconds: number; connections: number }

/**
 * Warms each target up, then runs `rounds` rounds that take the targets in turn (A B C, A B C, …),
 * so drift on a shared machine (thermal, other tenants) spreads over all of them; reports medians.
 */
export async function alternatingRounds(targets: readonly Target[], settings: RoundSettings): Promise<RoundsResult[]> {
  const runs = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  const base = (t: Target): Options => ({ url: t.url, headers: t.headers, connections: settings.connections, pipelining: 1 });
  for (const t of targets) await load({ ...base(t), duration: settings.warmupSeconds });
  for (let round = 0; round < settings.rounds; round++) {
    for (const t of targets) runs.get(t.name)!.push(await measuredLoad(t, { ...base(t), duration: settings.roundSeconds }));
  }
  return targets.map((t) => {
    const rounds = runs.get(t.name)!;
    return {
      name: t.name,
      rps: median(rounds.map((r) => r.rps)),
      p99Ms: median(rounds.map((r) => r.p99Ms)),
      cpuUsPerRequest: t.pid === undefined ? undefined : median(rounds.map((r) => r.cpuUsPerRequest ?? Number.NaN)),
      non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
      errors: rounds.reduce((n, r) => n + r.errors, 0),
      rounds,
    };
  });
}

/**
 * A load run that also reads the server's CPU time (user + system) before and after. CPU time per request
 * hardly depends on what else the machine is doing, so it compares builds more steadily than req/s does.
 */
async function measuredLoad(target: Target, options: Options): Promise<LoadResult> {
  if (target.pid === undefined) return load(options);
  const before = await cpuSeconds(target.pid);
  const result = await load(options);
  const used = (await cpuSeconds(target.pid)) - before;
  return { ...result, cpuUsPerRequest: result.total > 0 ? Math.round((used / result.total) * 1e7) / 10 : Number.NaN };
}
