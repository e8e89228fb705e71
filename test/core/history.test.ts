import { expect } from 'chai';
import { Action, GRACE_UNTIL, formatEntry, formatStamp, historyPathFor, parseHistory } from '../../src/core/history.js';
import type { HistoryEntry } from '../../src/core/history.js';

const T0 = new Date(2024, 4, 6, 7, 8, 9);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const entry = (seconds: number, action: string, key: string): HistoryEntry => ({ time: at(seconds), action, key });

describe('history: the line format', () => {
  it('names the history after the key file', () => {
    expect(historyPathFor('api/.api_key')).to.equal('api/.api_key_history');
  });

  it('formats local time as YYYY-MM-DD HH:MM:SS and lines as date | Action | Key', () => {
    expect(formatStamp(T0)).to.equal('2024-05-06 07:08:09');
    expect(formatEntry(entry(0, Action.generated, 'k1'))).to.equal('2024-05-06 07:08:09 | Generated | k1');
  });

  it('parses what it formats, CRLF included, skipping blank lines and counting malformed ones', () => {
    const text = [
      formatEntry(entry(0, Action.generated, 'k1')),
      '',
      formatEntry(entry(5, Action.replaced, 'k1')) + '\r',
      formatEntry(entry(5, Action.rotatedNew, 'k2')),
      'garbage',
      '2024-05-06 07:08 | Generated | short-stamp',
      '2024-05-06 07:08:09 | Generated | two words',
      formatEntry(entry(5, GRACE_UNTIL + '2024-05-06T05:18:14.000Z', 'k1')),
    ].join('\n');
    const { entries, malformed } = parseHistory(text);
    expect(malformed).to.equal(3);
    expect(entries.map((e) => e.action)).to.deep.equal([Action.generated, Action.replaced, Action.rotatedNew, GRACE_UNTIL + '2024-05-06T05:18:14.000Z']);
    expect(entries[1]!.key).to.equal('k1');
    expect(entries[2]!.time.getTime()).to.equal(at(5).getTime());
  });

  it('counts lines with impossible dates or times as malformed instead of rolling them over', () => {
    const { entries, malformed } = parseHistory([
      '2024-02-30 10:00:00 | Generated | k1',
      '2024-13-01 10:00:00 | Generated | k2',
      '2024-01-01 24:00:00 | Generated | k3',
      '2024-01-01 10:60:00 | Generated | k4',
      '2024-02-29 23:59:59 | Generated | k5',
    ].join('\n'));
    expect(malformed).to.equal(4);
    expect(entries.map((e) => e.key)).to.deep.equal(['k5']);
  });
});
