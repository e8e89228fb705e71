import { expect } from 'chai';
import { coalesced } from '../../../src/server/reload/coalesce.js';
import { waitFor } from './helpers.js';

/** A task whose runs the test ends one by one; it records each run's argument. */
function gatedTask() {
  const runs: number[] = [];
  const release: Array<() => void> = [];
  let active = 0;
  let maxActive = 0;
  const run = coalesced(async (n: number) => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs.push(n);
    await new Promise<void>((r) => release.push(r));
    active--;
    return n;
  });
  return { run, runs, release, maxActive: () => maxActive };
}

describe('coalesced', function () {
  it('never runs twice at once; calls during a run make exactly one more run, with the latest argument', async function () {
    const { run, runs, release, maxActive } = gatedTask();
    const first = run(1);
    const during = [run(2), run(3), run(4)];
    expect(runs).to.deep.equal([1]);
    release.shift()!();
    expect(await first).to.equal(1);
    await waitFor(() => release.length === 1, 'the follow-up run');
    release.shift()!();
    expect(await Promise.all(during)).to.deep.equal([4, 4, 4]);
    expect(runs).to.deep.equal([1, 4]);
    expect(maxActive()).to.equal(1);
  });

  it('starts a call made while idle at once', async () => {
    const { run, runs, release } = gatedTask();
    const first = run(1);
    expect(runs).to.deep.equal([1]);
    release.shift()!();
    await first;
    void run(2);
    expect(runs).to.deep.equal([1, 2]);
    release.shift()!();
  });

  it('after a run that had a follow-up, still runs later calls', async () => {
    const { run, runs, release } = gatedTask();
    const first = run(1);
    const followUp = run(2);
    release.shift()!();
    await first;
    await waitFor(() => release.length === 1, 'the follow-up run');
    release.shift()!();
    expect(await followUp).to.equal(2);
    const later = run(3);
    await waitFor(() => release.length === 1, 'the later run');
    release.shift()!();
    expect(await later).to.equal(3);
    expect(runs).to.deep.equal([1, 2, 3]);
  });

  it('a call during the follow-up run makes one more run after it', async () => {
    const { run, runs, release } = gatedTask();
    void run(1);
    const followUp = run(2);
    release.shift()!();
    await waitFor(() => release.length === 1, 'the follow-up run');
    const third = run(3);
    release.shift()!();
    expect(await followUp).to.equal(2);
    await waitFor(() => release.length === 1, 'the third run');
    release.shift()!();
    expect(await third).to.equal(3);
    expect(runs).to.deep.equal([1, 2, 3]);
  });
});
