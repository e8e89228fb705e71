import { expect } from 'chai';
import { join } from 'node:path';
import { spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';

// Signals that arrive while the server is still starting (a restarted worker gets the primary's SIGHUP
// or SIGTERM at any moment): their default action would end the process.
describe('server process: signals during start-up', () => {
  it('survives a SIGHUP before it listens, then serves', async () => {
    const { dir, cleanup } = await tempDir();
    const server = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key')], waitListening: false });
    try {
      // Logged on a first run inside start-up, before the watch and the listener.
      await server.waitForLine((l) => l.message === 'key loaded');
      server.child.kill('SIGHUP');
      // The signal may be handled just before or just after the listener opens: wait for both lines.
      await server.waitForLine((l) => l.message === 'reload requested');
      const listening = await server.waitForLine((l) => l.message === 'listening');
      expect(await statusOf(`http://127.0.0.1:${String(listening.port)}/livez`)).to.equal(200);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('exits 0 on a SIGTERM before it listens', async () => {
    const { dir, cleanup } = await tempDir();
    const server = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key')], waitListening: false });
    try {
      await server.waitForLine((l) => l.message === 'key loaded');
      server.child.kill('SIGTERM');
      expect(await server.exited).to.deep.equal({ code: 0, signal: null });
    } finally {
      await server.stop('SIGKILL');
      await cleanup();
    }
  });
});
