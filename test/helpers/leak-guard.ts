// The key-leak guard, loaded by .mocharc.json for every run (the whole suite, one file, one test, any
// order). It is a root hook plugin because it judges the whole run: a key in any log line or process
// output collected through test/helpers/log-capture.ts fails the run, naming the test that wrote it.
// It runs after the last test (of each file, under `mocha --parallel`, as npm test runs), so a failure
// here skips nothing.
import type { Context } from 'mocha';
import { leakedSecrets, testStarted } from './log-capture.js';

export const mochaHooks = {
  beforeEach(this: Context): void {
    testStarted(this.currentTest?.fullTitle() ?? '');
  },
  afterAll(): void {
    testStarted('');
    const leaked = leakedSecrets();
    if (leaked.length > 0) throw new Error(`key material in collected logs or process output:\n  ${leaked.join('\n  ')}`);
  },
};
