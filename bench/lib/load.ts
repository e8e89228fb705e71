import autocannon from 'autocannon';
import type { Options, Result } from 'autocannon';
import { median } from './stats.js';

/** One load run's figures. */
export interface LoadResult { rps: number; p50Ms: number; p99Ms: number; total: number; non2xx: number; errors: number }

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

/** A load target: a name and how to hit it. */
export interface Target { name: string; url: string; headers?: Record<string, string> }

/** Medians per target over alternating rounds. */
export interface RoundsResult { name: string; rps: number; p99Ms: number; non2xx: number; errors: number; rounds: LoadResult[] }

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
    for (const t of targets) runs.get(t.name)!.push(await load({ ...base(t), duration: settings.roundSeconds }));
  }
  return targets.map((t) => {
    const rounds = runs.get(t.name)!;
    return {
      name: t.name,
      rps: median(rounds.map((r) => r.rps)),
      p99Ms: median(rounds.map((r) => r.p99Ms)),
      non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
      errors: rounds.reduce((n, r) => n + r.errors, 0),
      rounds,
    };
  });
}
