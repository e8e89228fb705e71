import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_JS, SkipError, makeKeyDir, startDaemon } from '../lib/daemon.js';
import { rotateWithCli, startRotatingClients } from '../lib/rotating-clients.js';
import type { RotatingClients } from '../lib/rotating-clients.js';
import type { Section } from '../lib/section.js';

const ROTATIONS = 20;
const CLIENTS = 16;
// 100 ms, not less: with both cores saturated (load generator, daemon and the CLI's own Node start-up),
// the daemon's pickup of a new key, a few ms when it has a core, was measured at 50-100 ms. At 50 ms,
// 96-294 of ~200,000 requests (clients already on a key the daemon had not loaded yet) got 401.
const SWITCH_AFTER_MS = 100;
const GAP_MS = 400;

/** Section 3: 16 keep-alive clients under load while the real CLI rotates the key 20 times (server grace 30 s). */
export const rotationLoad: Section = {
  id: 'rotation-load',
  title: `Failed requests while keys rotate under load (${CLIENTS} keep-alive clients, ${ROTATIONS} CLI rotations, --grace 30s)`,
  async run(settings) {
    if (!existsSync(CLI_JS)) throw new SkipError('dist/cli.js not built yet (the CLI is not on this branch)');
    const keys = await makeKeyDir();
    const daemon = await startDaemon(keys.keyFile, ['--grace', '30s']).catch(async (err: unknown) => { await keys.cleanup(); throw err; });
    let clients: RotatingClients | undefined;
    try {
      clients = startRotatingClients(daemon.url, keys.key, { path: '/api/v1/health', connections: CLIENTS, maxSeconds: 600 });
      await sleep(500);
      const cliMs: number[] = [];
      for (let i = 0; i < ROTATIONS; i++) {
        const t0 = performance.now();
        const next = await rotateWithCli(keys);
        cliMs.push(performance.now() - t0);
        // Clients learn the new key a little after the rotation, as real clients would.
        clients.switchTo(next, SWITCH_AFTER_MS);
        await sleep(GAP_MS);
      }
      await sleep(500);
      const r = await clients.stop();
      clients = undefined;
      settings.log(`  ${r.total} requests, CLI rotate took ${Math.round(cliMs.reduce((a, b) => a + b, 0) / cliMs.length)} ms on average`);
      return {
        metrics: [
          { name: 'requests sent', value: r.total },
          { name: 'non-2xx answers', value: r.non2xx, goal: '0', met: r.non2xx === 0 },
          { name: 'connection errors/timeouts', value: r.errors, goal: '0', met: r.errors === 0 },
          { name: 'req/s during rotations', value: Math.round(r.rps) },
        ],
        details: { ...r, cliMs },
      };
    } finally {
      await clients?.stop().catch(() => undefined);
      await daemon.stop();
      await keys.cleanup();
    }
  },
};
