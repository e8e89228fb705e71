// Runs the suite in another order, to show that no test depends on another having run first. Loaded by
// .mocharc.json for every run; does nothing unless TEST_ORDER is set:
//   TEST_ORDER=reverse        files, suites and tests in reverse order
//   TEST_ORDER=shuffle[:SEED] files, suites and tests shuffled (seeded; the seed is printed to repeat a run)
// scripts/test-order.sh runs both (and every file alone); docs/testing.md says how.
import type { Context, Suite } from 'mocha';

/** A small seeded random source (mulberry32), so a failing order can be repeated. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function reorder<T>(list: T[], random: (() => number) | undefined): void {
  if (!random) return void list.reverse();
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
}

function reorderSuite(suite: Suite, random: (() => number) | undefined): void {
  reorder(suite.tests, random);
  reorder(suite.suites, random);
  for (const child of suite.suites) reorderSuite(child, random);
}

export const mochaHooks = {
  // The root suite's own before-all runs before any file's suite starts: reordering here takes effect.
  beforeAll(this: Context): void {
    const order = process.env.TEST_ORDER;
    if (!order) return;
    const [kind, seedText] = order.split(':');
    if (kind !== 'reverse' && kind !== 'shuffle') throw new Error(`TEST_ORDER must be reverse or shuffle[:SEED], not ${order}`);
    const seed = kind === 'shuffle' ? Number(seedText ?? Date.now() % 1_000_000) : 0;
    if (kind === 'shuffle') console.log(`  test order: shuffled with seed ${seed} (TEST_ORDER=shuffle:${seed} repeats it)`);
    else console.log('  test order: reversed');
    reorderSuite(this.test!.parent!, kind === 'shuffle' ? seeded(seed) : undefined);
  },
};
