#!/usr/bin/env node
// Shows that no test depends on another: runs the suite in other orders, every file alone, or every test
// of some files alone (mocha --grep on its full title). Needs a build (npm run build) for the process tests.
//   node scripts/test-order.mjs reverse            the whole suite, files, suites and tests reversed
//   node scripts/test-order.mjs shuffle [SEED]     the whole suite shuffled (seeded; the seed is printed)
//   node scripts/test-order.mjs files              each test file alone
//   node scripts/test-order.mjs alone [FILE...]    each test of FILE (default: every file) alone
// Exits 1 if any run failed, after listing the failures.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const [mode = 'files', ...rest] = process.argv.slice(2);
const MOCHA = ['node_modules/.bin/mocha'];
const allFiles = () => readdirSync('test', { recursive: true }).filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`).sort();

/** Runs mocha with `args` (and `env`); returns whether it passed, printing only a failing run's output. */
function mocha(args, env = {}, label = args.join(' ')) {
  const started = Date.now();
  const run = spawnSync(MOCHA[0], args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ok = run.status === 0;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${label}`);
  if (!ok) console.log((run.stdout + run.stderr).split('\n').map((l) => `      ${l}`).join('\n'));
  return ok;
}

/** Every test of `file` by full title (mocha --dry-run runs no test and no hook). */
function titles(file) {
  const run = spawnSync(MOCHA[0], ['--dry-run', '--reporter', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const json = run.stdout.slice(run.stdout.indexOf('{\n'));
  return JSON.parse(json).tests.map((t) => t.fullTitle);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const failed = [];
if (mode === 'reverse' || mode === 'shuffle') {
  const order = mode === 'reverse' ? 'reverse' : `shuffle:${rest[0] ?? Date.now() % 1_000_000}`;
  if (!mocha(['test/**/*.test.ts'], { TEST_ORDER: order }, `the whole suite, TEST_ORDER=${order}`)) failed.push(order);
} else if (mode === 'files') {
  for (const file of allFiles()) if (!mocha([file])) failed.push(file);
} else if (mode === 'alone') {
  for (const file of rest.length > 0 ? rest : allFiles()) {
    for (const title of titles(file)) {
      if (!mocha([file, '--grep', `^${escape(title)}$`], {}, `${file}: ${title}`)) failed.push(`${file}: ${title}`);
    }
  }
} else {
  console.error('usage: node scripts/test-order.mjs reverse | shuffle [SEED] | files | alone [FILE...]');
  process.exit(2);
}
console.log(failed.length === 0 ? 'all runs passed' : `${failed.length} run(s) failed:\n  ${failed.join('\n  ')}`);
process.exit(failed.length === 0 ? 0 : 1);
