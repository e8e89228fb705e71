// Loaded by Stryker only (stryker.config.mjs, mochaOptions.require): caps every test at 5 s. Stryker's mocha
// runner sets no timeout of its own, so a mutant that makes a test wait forever (a response never ended,
// a promise never settled) would otherwise hold the run until Stryker's own deadline and then cost a
// restarted test process. At 5 s the test fails and the mutant counts as killed. In process, every fast
// test takes well under a second; npm test keeps the longer timeouts of .mocharc.json and the tests.
import type { Context } from 'mocha';

const CAP_MS = 5000;

export const mochaHooks = {
  beforeEach(this: Context): void {
    const test = this.currentTest;
    if (test && (test.timeout() === 0 || test.timeout() > CAP_MS)) test.timeout(CAP_MS);
  },
};
