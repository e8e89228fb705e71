import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { fingerprint } from '../../src/core/key.js';
import { eventually, keyFileWith, tempDir } from '../helpers/server-process.js';
import { DEFAULT_POLL_MS } from '../../src/server/reload/key-watcher.js';
import { acceptedWithin, accepts, freshKey, logged, metric, startServer } from './harness.js';

// SIGHUP re-reads the key file at once. In poll mode the only other reader is the poll, so the
// change is made right after a poll and must be in force long before the next one, loaded by SIGHUP.
describe('integration: SIGHUP', function () {
  this.timeout(20_000);

  it('re-reads the key file at once, well before the next poll (--watch-mode poll)', async () => {
    const { dir, cleanup } = await tempDir();
    let current = freshKey();
    const keyFile = await keyFileWith(dir, current);
    const server = await startServer(keyFile, ['--watch-mode', 'poll']);
    const polls = () => metric(server, current, 'qwen_key_file_checks_total');
    try {
      for (let i = 0; i < 2; i++) {
        // A poll has just re-read the (unchanged) file: the next one is a full period away.
        const before = await polls();
        await eventually(async () => (await polls()) > before, 3 * DEFAULT_POLL_MS, 2);
        const pollAt = Date.now();
        const next = freshKey();
        const from = server.lines().length;
        await writeFile(keyFile, next + '\n');
        server.child.kill('SIGHUP');
        const latency = await acceptedWithin(server, next, pollAt, DEFAULT_POLL_MS);
        expect(latency, 'ms from the last poll to the new key in force').to.be.below(DEFAULT_POLL_MS * 0.8);
        const loaded = await logged(server, from, (l) => l.message === 'key loaded' && l.fingerprint === fingerprint(next));
        expect(loaded.trigger, 'what loaded the new key').to.equal('SIGHUP');
        expect(await accepts(server, current)).to.equal(false);
        current = next;
      }
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});
