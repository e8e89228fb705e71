import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './daemon.js';
import { startServer } from './process.js';
import type { RunningServer } from './process.js';

/** The reference servers under bench/servers/. */
export type BareServer = 'bare-http' | 'bare-koa' | 'upstream' | 'bare-proxy';

/** Starts a reference server as its own process on a free port, compiled like the daemon (`npm run bench` builds them). */
export function startBare(name: BareServer, args: string[] = []): Promise<RunningServer> {
  const compiled = join(ROOT, 'bench', '.build', `${name}.js`);
  if (!existsSync(compiled)) throw new Error(`${compiled} missing: run "npx tsc -p bench/tsconfig.servers.json" (npm run bench does)`);
  return startServer({
    command: process.execPath,
    args: [compiled, '--port', '0', ...args],
    cwd: ROOT,
  });
}
