import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// scripts/mutation-score.mjs is what makes CI fail on a weak module (.ci/run runs npm run mutate): shown
// here on Stryker reports written out, since a real run takes minutes.
const SCRIPT = resolve(import.meta.dirname, '../scripts/mutation-score.mjs');
// Written out rather than imported, so that a module dropped from the gate's list fails here.
const CORE = ['key.ts', 'key-file.ts', 'client-name.ts', 'client-history.ts', 'clients-format.ts', 'clients-file.ts', 'history.ts', 'history-file.ts', 'history-state.ts', 'history-reader.ts', 'key-window.ts'].map((f) => `src/core/${f}`);
const AUTH = ['src/server/reload/key-store.ts', 'src/server/reload/client-table.ts', 'src/server/http/auth.ts', 'src/server/http/credentials.ts', 'src/server/http/throttle.ts', 'src/proxy/forward-headers.ts'];

/** A module's mutants: `killed` detected, `survived` not, plus one that did not compile (left out of the score). */
const mutants = (killed: number, survived: number) => [
  ...Array.from({ length: killed }, () => ({ status: 'Killed' })),
  ...Array.from({ length: survived }, () => ({ status: 'Survived' })),
  { status: 'CompileError' },
];

async function score(files: Record<string, { mutants: Array<{ status: string }> }>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'qwen-mutation-'));
  try {
    await writeFile(join(dir, 'mutation.json'), JSON.stringify({ files }));
    const run = spawnSync(process.execPath, [SCRIPT, join(dir, 'mutation.json')], { encoding: 'utf8' });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('mutation-score (the CI gate on npm run mutate)', () => {
  const strong = Object.fromEntries([...CORE, ...AUTH].map((f) => [f, { mutants: mutants(9, 1) }]));

  it('passes when every module meets its threshold: 90 % for the key core and auth, 80 % for the rest', async () => {
    const run = await score({ ...strong, 'src/cli/args.ts': { mutants: mutants(8, 2) } });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^src\/cli\/args\.ts +80\.0 +80 +8 +2$/m);
    expect(run.stdout).to.match(/^src\/core\/key\.ts +90\.0 +90 +9 +1$/m);
  });

  it('fails (exit 1) when a key-core module is below 90 %, naming it', async () => {
    const run = await score({ ...strong, 'src/core/key-file.ts': { mutants: mutants(8, 1) } });
    expect(run.code).to.equal(1);
    expect(run.stdout).to.match(/^src\/core\/key-file\.ts +88\.9 +90 +8 +1 +BELOW$/m);
    expect(run.stderr).to.equal('mutation score below threshold in 1 module(s)\n');
  });

  it('fails when any other module is below 80 %', async () => {
    const run = await score({ ...strong, 'src/cli/commands.ts': { mutants: mutants(7, 2) } });
    expect(run.code).to.equal(1);
    expect(run.stdout).to.match(/^src\/cli\/commands\.ts +77\.8 +80 +7 +2 +BELOW$/m);
  });

  it('fails when a module held to 90 % is missing from the report', async () => {
    const { ['src/core/history.ts']: _dropped, ...rest } = strong;
    const run = await score(rest);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.include('src/core/history.ts: not in the report (not mutated?)');
  });
});
