#!/usr/bin/env node
// Reads Stryker's JSON report and holds every module to its mutation-score threshold: the key core
// and auth at 90 %, everything else at 80 %. Prints one line per module; exits 1 if any falls short.
// Score as Stryker counts it: detected (killed or timed out) over detected plus undetected (survived
// or not covered); mutants that do not compile or run are left out.
import { readFileSync } from 'node:fs';

const REPORT = process.argv[2] ?? 'reports/mutation/mutation.json';

/** The modules held to 90 %: key format, key file, history and its reader, windows, named keys, key store, auth. */
export const CORE_AND_AUTH = [
  'src/core/key.ts',
  'src/core/key-file.ts',
  'src/core/client-name.ts',
  'src/core/client-history.ts',
  'src/core/clients-format.ts',
  'src/core/clients-file.ts',
  'src/core/history.ts',
  'src/core/history-file.ts',
  'src/core/history-state.ts',
  'src/core/history-reader.ts',
  'src/core/key-window.ts',
  'src/server/reload/key-store.ts',
  'src/server/reload/client-table.ts',
  'src/server/http/auth.ts',
  'src/server/http/credentials.ts',
  'src/server/http/throttle.ts',
  'src/proxy/forward-headers.ts',
];
const HIGH = 90;
const DEFAULT = 80;

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const report = JSON.parse(readFileSync(REPORT, 'utf8'));
const rows = Object.entries(report.files).map(([file, { mutants }]) => {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const undetected = mutants.filter((m) => UNDETECTED.has(m.status)).length;
  const valid = detected + undetected;
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  const threshold = CORE_AND_AUTH.includes(file) ? HIGH : DEFAULT;
  return { file, detected, undetected, score, threshold, ok: score >= threshold };
}).sort((a, b) => a.file.localeCompare(b.file));

const missing = CORE_AND_AUTH.filter((file) => !rows.some((r) => r.file === file));
const width = Math.max(...rows.map((r) => r.file.length));
console.log(`${'module'.padEnd(width)}  score  needs  killed  survived`);
for (const r of rows) {
  console.log(`${r.file.padEnd(width)}  ${r.score.toFixed(1).padStart(5)}  ${String(r.threshold).padStart(5)}  ${String(r.detected).padStart(6)}  ${String(r.undetected).padStart(8)}${r.ok ? '' : '  BELOW'}`);
}
for (const file of missing) console.log(`${file}: not in the report (not mutated?)`);
const failing = rows.filter((r) => !r.ok);
if (failing.length > 0 || missing.length > 0) {
  console.error(`mutation score below threshold in ${failing.length} module(s)${missing.length ? `, ${missing.length} required module(s) missing` : ''}`);
  process.exit(1);
}
console.log(`all ${rows.length} modules meet their thresholds`);
