import { expect } from 'chai';
import { Action, GRACE_UNTIL } from '../../src/core/history.js';
import type { HistoryEntry } from '../../src/core/history.js';
import { DEFAULT_MAX_GRACE_MS, clampGrace, deriveState } from '../../src/core/history-state.js';

const T0 = new Date(2024, 4, 6, 7, 8, 9);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const entry = (seconds: number, action: string, key: string): HistoryEntry => ({ time: at(seconds), action, key });

describe('history state (deriveState)', () => {
  it('is empty for no entries', () => {
    const state = deriveState([]);
    expect(state.current).to.equal(undefined);
    expect(state.previous).to.equal(undefined);
    expect(state.revoked.size).to.equal(0);
  });

  it('takes the current key from the latest Generated or Rotated (new)', () => {
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.replaced, 'k1'),
      entry(5, Action.rotatedNew, 'k2'),
      entry(9, Action.replaced, 'k2'),
      entry(9, Action.rotatedNew, 'k3'),
    ]);
    expect(state.current).to.deep.equal({ key: 'k3', since: at(9) });
    expect(state.previous).to.deep.equal({ key: 'k2', replacedAt: at(9), revoked: false });
  });

  it('records a rotation\'s own window from its Grace until line', () => {
    const until = new Date(at(5).getTime() + 600_000);
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.replaced, 'k1'),
      entry(5, Action.rotatedNew, 'k2'),
      entry(5, GRACE_UNTIL + until.toISOString(), 'k1'),
    ]);
    expect(state.previous?.graceUntil?.getTime()).to.equal(until.getTime());
  });

  it('ignores a Grace until line for a key that is not the previous one, or with a bad date', () => {
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.replaced, 'k1'),
      entry(5, Action.rotatedNew, 'k2'),
      entry(5, GRACE_UNTIL + '2030-01-01T00:00:00.000Z', 'k0'),
      entry(5, GRACE_UNTIL + 'not-a-date', 'k1'),
    ]);
    expect(state.previous?.graceUntil).to.equal(undefined);
  });

  it('marks the previous key revoked by a Revoked line', () => {
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.replaced, 'k1'),
      entry(5, Action.rotatedNew, 'k2'),
      entry(5, Action.revoked, 'k1'),
    ]);
    expect(state.previous?.revoked).to.equal(true);
    expect(state.revoked.has('k1')).to.equal(true);
    expect(state.current?.key).to.equal('k2');
  });

  it('keeps the Revoked and Grace lines from changing the current key', () => {
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.revoked, 'k1'),
      entry(6, GRACE_UNTIL + '2030-01-01T00:00:00.000Z', 'k1'),
    ]);
    expect(state.current?.key).to.equal('k1');
    expect(state.previous).to.equal(undefined);
  });

  it('starts afresh on a (forced) Generated: no previous key keeps a window', () => {
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.replaced, 'k1'),
      entry(5, Action.rotatedNew, 'k2'),
      entry(9, Action.generated, 'k3'),
    ]);
    expect(state.current?.key).to.equal('k3');
    expect(state.previous).to.equal(undefined);
  });

  it('falls back to the current key when a Rotated (new) has no Rotated (replaced) before it', () => {
    const state = deriveState([entry(0, Action.generated, 'k1'), entry(5, Action.rotatedNew, 'k2')]);
    expect(state.previous?.key).to.equal('k1');
  });

  it('has no previous key when a rotation "replaces" a key with itself', () => {
    const state = deriveState([entry(0, Action.generated, 'k1'), entry(5, Action.replaced, 'k1'), entry(5, Action.rotatedNew, 'k1')]);
    expect(state.previous).to.equal(undefined);
  });

  // Regression: appending these three lines made `attacker` valid until 2099.
  it('opens no window for a replaced key the chain does not show as current (forged lines)', () => {
    const state = deriveState([
      entry(0, Action.generated, 'k1'),
      entry(5, Action.replaced, 'k1'),
      entry(5, Action.rotatedNew, 'k2'),
      entry(9, Action.replaced, 'attacker'),
      entry(9, Action.rotatedNew, 'k2'),
      entry(9, GRACE_UNTIL + '2099-01-01T00:00:00.000Z', 'attacker'),
    ]);
    expect(state.current?.key).to.equal('k2');
    expect(state.previous).to.equal(undefined);
  });

  it('opens no window when a rotation names another key than the chain\'s current one', () => {
    const state = deriveState([entry(0, Action.generated, 'k1'), entry(5, Action.replaced, 'k0'), entry(5, Action.rotatedNew, 'k2')]);
    expect(state.current?.key).to.equal('k2');
    expect(state.previous).to.equal(undefined);
  });

  it('believes the first rotation of a history that names no key before it, only when read from its start', () => {
    const lines = [entry(5, Action.replaced, 'k1'), entry(5, Action.rotatedNew, 'k2'), entry(9, Action.replaced, 'k2'), entry(9, Action.rotatedNew, 'k3')];
    expect(deriveState(lines.slice(0, 2)).previous?.key).to.equal('k1');
    expect(deriveState(lines.slice(0, 2), false).previous).to.equal(undefined);
    // In a tail, the chain starts at its first current key: the next rotation is checked against it.
    expect(deriveState(lines, false).previous?.key).to.equal('k2');
  });

  it('ignores named-key lines: they neither change the current key nor open, end or break a window', () => {
    const chain = [entry(0, Action.generated, 'k1'), entry(5, Action.replaced, 'k1'), entry(5, Action.rotatedNew, 'k2')];
    const clientLines = [
      entry(6, 'Client added (alice)', 'sha256:0123456789ab'),
      entry(6, 'Client replaced (alice, revoked)', 'k1'),
      entry(7, 'Client rotated (alice)', 'k9'),
      entry(7, 'Client replaced (alice, grace until 2099-01-01T00:00:00.000Z)', 'k1'),
      entry(8, 'Client removed (alice)', 'k2'),
    ];
    const mixed = [chain[0]!, clientLines[0]!, chain[1]!, clientLines[1]!, chain[2]!, ...clientLines.slice(2)];
    expect(deriveState(mixed)).to.deep.equal(deriveState(chain));
    expect(deriveState(mixed).previous).to.deep.equal({ key: 'k1', replacedAt: at(5), revoked: false });
  });

  describe('clampGrace', () => {
    const rotation = (until: string) => deriveState([
      entry(0, Action.generated, 'k1'), entry(5, Action.replaced, 'k1'), entry(5, Action.rotatedNew, 'k2'), entry(5, GRACE_UNTIL + until, 'k1'),
    ]);

    it('cuts a Grace until longer than the maximum to the rotation time plus the maximum, and says what it cut', () => {
      const { state, clamped } = clampGrace(rotation('2099-01-01T00:00:00.000Z'), DEFAULT_MAX_GRACE_MS);
      expect(state.previous?.graceUntil?.getTime()).to.equal(at(5).getTime() + 7 * 86_400_000);
      expect(clamped).to.deep.include({ key: 'k1' });
      expect(clamped?.asked.toISOString()).to.equal('2099-01-01T00:00:00.000Z');
    });

    it('leaves a window of exactly the maximum alone, and cuts one a millisecond longer', () => {
      const exact = rotation(new Date(at(5).getTime() + 7 * 86_400_000).toISOString());
      expect(clampGrace(exact, DEFAULT_MAX_GRACE_MS)).to.deep.equal({ state: exact });
      const longer = rotation(new Date(at(5).getTime() + 7 * 86_400_000 + 1).toISOString());
      expect(clampGrace(longer, DEFAULT_MAX_GRACE_MS).clamped?.until.getTime()).to.equal(at(5).getTime() + 7 * 86_400_000);
    });

    it('holds windows to seven days by default', () => {
      expect(DEFAULT_MAX_GRACE_MS).to.equal(604_800_000);
    });

    it('leaves a window within the maximum alone', () => {
      const until = new Date(at(5).getTime() + 3_600_000).toISOString();
      const original = rotation(until);
      const { state, clamped } = clampGrace(original, DEFAULT_MAX_GRACE_MS);
      expect(state).to.equal(original);
      expect(clamped).to.equal(undefined);
    });
  });
});
