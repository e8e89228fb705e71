import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseHistory } from '../../src/core/history.js';
import { REPO, requireBuild } from '../cli/processes.js';
import { registerSecret, tempDir } from '../helpers/server-process.js';

const SCRIPT = join(REPO, 'deploy', 'kubernetes', 'rotate-secret.sh');
const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures');
const RUNS = 4;

/** Runs rotate-secret.sh ARGS against the fake kubectl (test/fixtures/kubectl) and its Secret in `store`. */
function rotateSecret(args: string[], store: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(SCRIPT, args, { env: { PATH: `${FIXTURES}:${process.env.PATH}`, FAKE_SECRET_DIR: store }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}

describe('integration: rotate-secret.sh run several times at once (fake kubectl with resourceVersions)', function () {
  this.timeout(60_000);
  let cleanup: (() => Promise<void>) | undefined;
  before(requireBuild);
  afterEach(async () => cleanup?.());

  it(`${RUNS} rotations at once: each either lands whole or exits 1 on the Conflict, and none undoes another`, async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const store = join(dir, 'secret-data');
    expect((await rotateSecret(['--create'], store)).code, 'create the Secret').to.equal(0);

    const runs = await Promise.all(Array.from({ length: RUNS }, () => rotateSecret(['--grace', '10m'], store)));
    const landed = runs.filter((r) => r.code === 0).length;
    for (const r of runs.filter((run) => run.code !== 0)) {
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('Error from server (Conflict)');
      expect(r.stderr).to.include('nothing changed, run again');
    }
    expect(landed, 'at least the first writer lands').to.be.at.least(1);

    const key = (await readFile(join(store, '.api_key'), 'utf8')).trim();
    registerSecret(key);
    const { entries, malformed } = parseHistory(await readFile(join(store, '.api_key_history'), 'utf8'));
    for (const e of entries) registerSecret(e.key);
    expect(malformed).to.equal(0);
    // Every rotation that reported success is in the history, one after another, ending in the key in force:
    // an overwrite by a run that read the Secret before another's write would have dropped that write's lines.
    const rotated = entries.filter((e) => e.action === 'Rotated (new)');
    expect(rotated.length, 'one Rotated (new) per rotation that landed').to.equal(landed);
    expect(rotated.at(-1)!.key === key, 'the last rotation that landed is in force').to.equal(true);
    const chain = entries.filter((e) => e.action === 'Generated' || e.action.startsWith('Rotated'));
    for (let i = 1; i < chain.length; i += 2) {
      expect(chain[i]!.action).to.equal('Rotated (replaced)');
      expect(chain[i]!.key === chain[i - 1]!.key, `rotation ${(i + 1) / 2} replaced the key then in force`).to.equal(true);
      expect(chain[i + 1]!.action).to.equal('Rotated (new)');
    }
  });
});
