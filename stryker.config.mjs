// Mutation testing (`npm run mutate`): how many deliberate bugs in src/ the fast tests catch.
// scripts/mutation-score.mjs then holds each module to its threshold (docs/testing.md).

/** The fast tests: everything that runs in-process. Tests that start dist/server.js or dist/cli.js
 *  run the built code, which Stryker does not mutate, so they could not catch a mutant anyway. */
const FAST_TESTS = [
  'test/core/**/*.test.ts',
  'test/cli/args.test.ts',
  'test/cli/commands.test.ts',
  'test/cli/failures.test.ts',
  'test/cli/history-view.test.ts',
  'test/cli/key-status.test.ts',
  'test/server/*.test.ts',
  'test/server/http/**/*.test.ts',
  'test/server/reload/**/*.test.ts',
  'test/server/tls/**/*.test.ts',
  'test/proxy/**/*.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'mocha',
  testRunnerNodeArgs: ['--import', 'tsx'],
  mochaOptions: { spec: FAST_TESTS, 'no-config': true },
  // Every module but the two entry points, which only wire the process to the rest.
  mutate: ['src/**/*.ts', '!src/server.ts', '!src/cli.ts'],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { reportMutants: false },
  // The overall score; the per-module thresholds are scripts/mutation-score.mjs's.
  thresholds: { high: 90, low: 80, break: 80 },
  concurrency: 2,
  timeoutMS: 10000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // TypeScript 7 has no JS API; Stryker's tsconfig rewriting (needed only for an 'extends' outside the
  // project) would load it, so it is pointed at a file that does not exist.
  tsconfigFile: 'no-tsconfig-rewrite.json',
};
