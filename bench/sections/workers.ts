import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { SkipError, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { alternatingRounds } from '../lib/load.js';
import { listeningPort } from '../lib/process.js';
import type { RunningServer } from '../lib/process.js';
import type { Section } from '../lib/section.js';
import { round } from '../lib/stats.js';

const PATH = '/api/v1/health';

/** Section 7: the daemon with one worker against one worker per core (`--workers N`). */
export const workers: Section = {
  id: 'workers',
  title: `Many cores: --workers 1 vs --workers ${availableParallelism()}`,
  async run(settings) {
    const n = availableParallelism();
    if (n < 2) throw new SkipError('one core only');
    const keys = await makeKeyDir();
    const servers: RunningServer[] = [];
    try {
      const one = await startDaemon(keys.keyFile, ['--workers', '1']);
      servers.push(one);
      const many = await startDaemon(keys.keyFile, ['--workers', String(n)]);
      servers.push(many);
      await allListening(many, n);
      const [r1, rn] = await alternatingRounds([
        { name: 'workers 1', url: one.url + PATH, headers: { 'x-api-key': keys.key } },
        { name: `workers ${n}`, url: many.url + PATH, headers: { 'x-api-key': keys.key } },
      ], settings);
      return {
        metrics: [
          { name: '--workers 1 req/s (median)', value: Math.round(r1!.rps) },
          { name: '--workers 1 p99', value: r1!.p99Ms, unit: 'ms' },
          { name: `--workers ${n} req/s (median)`, value: Math.round(rn!.rps) },
          { name: `--workers ${n} p99`, value: rn!.p99Ms, unit: 'ms' },
          { name: `${n} workers / 1 worker`, value: round(rn!.rps / r1!.rps), unit: 'x' },
        ],
        notes: [`the load generator shares the ${n} cores with the workers, so the speed-up is bounded well below ${n}x here`],
        details: { one: r1, many: rn },
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await keys.cleanup();
    }
  },
};

/** Waits until `count` workers have logged `listening`; SkipError if the flag was accepted but no cluster formed. */
async function allListening(server: RunningServer, count: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (server.output.filter((l) => listeningPort(l) !== undefined).length >= count) return;
    await sleep(20);
  }
  throw new SkipError(`--workers ${count} accepted but fewer than ${count} workers announced "listening"`);
}
