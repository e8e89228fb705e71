// Mutation testing (`npm run mutate`): how many deliberate bugs in src/ the fast tests catch.
// scripts/mutation-score.mjs then holds each module to its threshold (docs/testing.md).

/** The fast tests: everything that runs in-process. Tests that start dist/server.js or dist/cli.js
 *  run the built code, which Stryker does not mutate, so they could not catch a mutant anyway. */
const FAST_TESTS = [
  'test/core/**/*.test.ts',
  'test/cli/args.test.ts',
  'test/cli/commands.test.ts',
  'test/cli/client-commands.test.ts',
  'test/cli/client-view.test.ts',
  'test/cli/failures.test.ts',
  'test/cli/history-view.test.ts',
  'test/cli/key-status.test.ts',
  'test/cli/messages.test.ts',
  'test/cli/server-check.test.ts',
  'test/cli/server-url.test.ts',
  'test/cli/client-certificate.test.ts',
  'test/cli/usage-error.test.ts',
  'test/server/*.test.ts',
  'test/server/http/**/*.test.ts',
  'test/server/tls/**/*.test.ts',
  'test/server/reload/**/*.test.ts',
  'test/proxy/**/*.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'mocha',
  testRunnerNodeArgs: ['--import', 'tsx'],
  // mutation-timeouts.ts caps each test at 5 s: a mutant that makes one wait forever fails it there.
  mochaOptions: { spec: FAST_TESTS, 'no-config': true, require: ['test/helpers/mutation-timeouts.ts'] },
  // Every module but the two entry points, which only wire the process to the rest.
  mutate: ['src/**/*.ts', '!src/server.ts', '!src/cli.ts'],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { reportMutants: false },
  // The overall score; the per-module thresholds are scripts/mutation-score.mjs's.
  thresholds: { high: 90, low: 80, break: 80 },
  // Static mutants (module-level constants: regular expressions, tables, strings read once at load) cannot
  // be switched on per test: each costs a fresh process running the whole fast set. 224 of them (5 % of the
  // mutants) took 57 % of the run. Mutants in code that tests also call are not static ("hybrid") and still
  // run. The key core's static mutants are checked apart with statics on: QWEN_MUTATE_STATIC=1 (docs/testing.md).
  ignoreStatic: process.env.QWEN_MUTATE_STATIC !== '1',
  // The CI machine's two cores. Four processes were no faster per mutant (31 min 23 s for 6,200 mutants
  // against 28 min 17 s for 5,861 with two) and crashed test processes more often under the load.
  concurrency: 2,
  // A mutant that loops or never settles is a timeout (detected) after its tests' own time x 1.5 plus this.
  // Each costs the wait and a restarted test process, so the margin is kept short: the fast tests' own
  // deadlines are far shorter than a second except where a test waits on a timer it set itself.
  timeoutMS: 2000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // TypeScript 7 has no JS API; Stryker's tsconfig rewriting (needed only for an 'extends' outside the
  // project) would load it, so it is pointed at a file that does not exist.
  tsconfigFile: 'no-tsconfig-rewrite.json',
};
