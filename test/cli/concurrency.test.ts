import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readKeyFile } from '../../src/core/key-file.js';
import { parseHistory } from '../../src/core/history.js';
import { fingerprint } from '../../src/core/key.js';
import { HISTORY_LINE, PRINTED_KEY, history, requireBuild, runCli, workDir } from './processes.js';

describe('manage-key under concurrency (processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  before(requireBuild);
  beforeEach(async () => {
    ({ dir, cleanup } = await workDir('manage-key-conc-'));
    keyFile = join(dir, 'api', '.api_key');
  });
  afterEach(() => cleanup());

  it('16 rotations at once leave 33 whole lines forming one unbroken chain', async () => {
    expect((await runCli(['generate'], { cwd: dir })).code).to.equal(0);
    const results = await Promise.all(Array.from({ length: 16 }, () => runCli(['rotate'], { cwd: dir, timeoutMs: 40_000 })));
    for (const r of results) {
      expect(r.code, r.stderr).to.equal(0);
      expect(PRINTED_KEY.test(r.stdout)).to.equal(true);
    }
    const { text, entries, malformed } = await history(keyFile);
    expect(malformed).to.equal(0);
    const lines = text.trimEnd().split('\n');
    expect(lines).to.have.length(33);
    expect(lines.every((l) => HISTORY_LINE.test(l)), 'every line well formed').to.equal(true);
    expect(entries[0]!.action).to.equal('Generated');
    let current = entries[0]!.key;
    for (let i = 1; i < 33; i += 2) {
      expect(entries[i]!.action).to.equal('Rotated (replaced)');
      expect(entries[i]!.key === current, `line ${i + 1} names the key that was current`).to.equal(true);
      expect(entries[i + 1]!.action).to.equal('Rotated (new)');
      current = entries[i + 1]!.key;
    }
    expect((await readKeyFile(keyFile)) === current, 'key file equals the last Rotated (new)').to.equal(true);
    // Every process printed a different key, and each is one of the logged new keys.
    const printed = new Set(results.map((r) => r.stdout.trim()));
    const logged = new Set(entries.filter((e) => e.action === 'Rotated (new)').map((e) => e.key));
    expect(printed.size).to.equal(16);
    expect([...printed].every((k) => logged.has(k))).to.equal(true);
  });

  it('a reader polling the key file during 30 rotations only ever sees a whole key the history knows', async () => {
    expect((await runCli(['generate'], { cwd: dir })).code).to.equal(0);
    let stop = false;
    const problems: string[] = [];
    const seen = new Set<string>();
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        reads++;
        try {
          const raw = await readFile(keyFile, 'utf8');
          if (!PRINTED_KEY.test(raw)) problems.push(`torn or odd content (${raw.length} chars)`);
          const key = await readKeyFile(keyFile);
          // Write-ahead: the history is read after the key, so it must already know it.
          const known = parseHistory(await readFile(`${keyFile}_history`, 'utf8')).entries.some((e) => e.key === key);
          if (!known) problems.push(`key ${fingerprint(key)} not in the history`);
          seen.add(fingerprint(key));
        } catch (err) {
          problems.push(`read failed: ${(err as Error).message}`);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      // Two writers at a time: the lock serialises them, and the swaps come closer together.
      for (let i = 0; i < 15; i++) {
        const pair = await Promise.all([runCli(['rotate'], { cwd: dir }), runCli(['rotate'], { cwd: dir })]);
        for (const r of pair) expect(r.code, r.stderr).to.equal(0);
      }
    } finally {
      stop = true;
      await reader;
    }
    expect(problems.slice(0, 5)).to.deep.equal([]);
    expect(reads).to.be.above(100);
    expect(seen.size, 'the reader saw several keys go by').to.be.above(5);
    const { entries } = await history(keyFile);
    expect(entries).to.have.length(61);
  });
});
