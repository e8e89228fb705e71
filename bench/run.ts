// `npm run bench`: runs every section once, prints one table and writes bench/results/latest.json.
// Flags: --quick (short rounds, for a smoke run), --only id,id (a subset; the only way to run the opt-in
// `soak`), --profile (CPU profile of the daemon
// during `throughput`, into bench/results/profiles/). Any of them writes partial.json instead.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SkipError } from './lib/daemon.js';
import { describeMachine } from './lib/machine.js';
import type { BenchSettings, Section, SectionResult } from './lib/section.js';
import { renderTable } from './lib/table.js';
import { throughput } from './sections/throughput.js';
import { reload } from './sections/reload.js';
import { rotationLoad } from './sections/rotation-load.js';
import { storm } from './sections/storm.js';
import { startup } from './sections/startup.js';
import { proxy } from './sections/proxy.js';
import { workers } from './sections/workers.js';
import { soak } from './sections/soak.js';
import { tls } from './sections/tls.js';

const SECTIONS: Section[] = [throughput, reload, rotationLoad, storm, startup, proxy, workers, tls, soak];

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, profile: { type: 'boolean', default: false } } });
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
if (unknown.length) {
  process.stderr.write(`unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.id).join(', ')}\n`);
  process.exit(2);
}
const settings: BenchSettings = values.quick
  ? { quick: true, rounds: 2, roundSeconds: 2, warmupSeconds: 1, connections: 32, log }
  : { quick: false, rounds: 5, roundSeconds: 5, warmupSeconds: 3, connections: 32, log };

if (values.profile) settings.profileDir = join(ROOT, 'bench', 'results', 'profiles');

function log(message: string): void {
  process.stderr.write(message + '\n');
}

const machine = describeMachine();
const startedAt = new Date();
const results: SectionResult[] = [];
for (const section of SECTIONS.filter((s) => (only ? only.includes(s.id) : !s.optIn))) {
  log(`[${section.id}] ${section.title}`);
  const t0 = performance.now();
  try {
    const r = await section.run(settings);
    results.push({ id: section.id, title: section.title, ...r, seconds: Math.round((performance.now() - t0) / 100) / 10 });
  } catch (err) {
    if (!(err instanceof SkipError)) throw err;
    log(`  skipped: ${err.message}`);
    results.push({ id: section.id, title: section.title, metrics: [], skipped: err.message });
  }
}

const table = renderTable(machine, results);
process.stdout.write(table + '\n');
const partial = values.quick || values.profile || only !== undefined;
const file = join(ROOT, 'bench', 'results', partial ? 'partial.json' : 'latest.json');
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(file, JSON.stringify({ startedAt: startedAt.toISOString(), settings: { ...settings, log: undefined }, machine, sections: results, table }, null, 2) + '\n');
log(`\nwrote ${file} (${Math.round((Date.now() - startedAt.getTime()) / 1000)} s in all)`);
