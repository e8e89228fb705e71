import { join } from 'node:path';
import { ROOT } from './daemon.js';
import { startServer } from './process.js';
import type { RunningServer } from './process.js';

/** The reference servers under bench/servers/. */
export type BareServer = 'bare-http' | 'bare-koa' | 'upstream';

/** Starts a reference server as its own process on a free port. */
export function startBare(name: BareServer): Promise<RunningServer> {
  return startServer({
    command: process.execPath,
    args: ['--import', 'tsx', join(ROOT, 'bench', 'servers', `${name}.ts`), '--port', '0'],
    cwd: ROOT,
  });
}
