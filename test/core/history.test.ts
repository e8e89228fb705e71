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

  it('names the actions as the documented history does', () => {
    expect(Action).to.deep.equal({ generated: 'Generated', replaced: 'Rotated (replaced)', rotatedNew: 'Rotated (new)', revoked: 'Revoked' });
    expect(GRACE_UNTIL).to.equal('Grace until ');
  });

  it('pads every field of the stamp to its width', () => {
    expect(formatStamp(new Date(2024, 0, 2, 3, 4, 5))).to.equal('2024-01-02 03:04:05');
    expect(formatStamp(new Date(2024, 11, 31, 23, 59, 59))).to.equal('2024-12-31 23:59:59');
  });

  it('parses lines as written, CRLF included, skipping blank lines and counting malformed ones', () => {
    const text = [
      '2024-05-06 07:08:09 | Generated | k1',
      '',
      '   \t',
      '2024-05-06 07:08:14 | Rotated (replaced) | k1\r',
      '2024-05-06 07:08:14 | Rotated (new) | k2',
      'garbage',
      '2024-05-06 07:08 | Generated | short-stamp',
      '2024-05-06 07:08:09 | Generated | two words',
      '2024-05-06 07:08:14 | Grace until 2024-05-06T05:18:14.000Z | k1',
    ].join('\n');
    const { entries, malformed } = parseHistory(text);
    expect(malformed).to.equal(3);
    expect(entries).to.deep.equal([
      { time: at(0), action: 'Generated', key: 'k1' },
      { time: at(5), action: 'Rotated (replaced)', key: 'k1' },
      { time: at(5), action: 'Rotated (new)', key: 'k2' },
      { time: at(5), action: 'Grace until 2024-05-06T05:18:14.000Z', key: 'k1' },
    ]);
  });

  it('takes only a CR at the very end of a line as its line end', () => {
    const { entries, malformed } = parseHistory('2024-05-06 07:08:09 | Generated | k\r1\n');
    expect([entries, malformed]).to.deep.equal([[], 1]);
  });

  it('counts a line with anything before its stamp, or a short year, as malformed', () => {
    const { entries, malformed } = parseHistory([
      'x2024-05-06 07:08:09 | Generated | k1',
      ' 2024-05-06 07:08:09 | Generated | k2',
      '024-05-06 07:08:09 | Generated | k3',
    ].join('\n'));
    expect([entries, malformed]).to.deep.equal([[], 3]);
  });

  it('counts lines with impossible dates or times as malformed instead of rolling them over', () => {
    const { entries, malformed } = parseHistory([
      '2024-02-30 10:00:00 | Generated | k1',
      '2024-13-01 10:00:00 | Generated | k2',
      '2024-01-01 24:00:00 | Generated | k3',
      '2024-01-01 10:60:00 | Generated | k4',
      '2024-01-01 10:00:60 | Generated | k6',
      '2024-04-31 10:00:00 | Generated | k7',
      '2024-02-29 23:59:59 | Generated | k5',
    ].join('\n'));
    expect(malformed).to.equal(6);
    expect(entries.map((e) => e.key)).to.deep.equal(['k5']);
  });
});
