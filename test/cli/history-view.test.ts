import { expect } from 'chai';
import { formatHistoryView, historyJson, historyPrinter } from '../../src/cli/history-view.js';
import type { HistoryEntry } from '../../src/core/history.js';

const K1 = 'abc123-first-key-MIDDLE-xyz789';
const K2 = 'def456-second-key-MIDDLE-uvw000';
const t = (s: number) => new Date(2024, 2, 4, 5, 6, s);
const entries: HistoryEntry[] = [
  { time: t(1), action: 'Generated', key: K1 },
  { time: t(2), action: 'Rotated (replaced)', key: K1 },
  { time: t(2), action: 'Rotated (new)', key: K2 },
  { time: t(2), action: 'Revoked', key: K1 },
];

describe('history-view', () => {
  it('prints exactly the documented view', () => {
    const rule = '='.repeat(100);
    expect(formatHistoryView(entries, K2, '/h')).to.equal([
      'API Key History:',
      rule,
      '',
      '2024-03-04 05:06:01 [Generated] abc123...xyz789',
      '2024-03-04 05:06:02 [Rotated (replaced)] abc123...xyz789',
      '2024-03-04 05:06:02 [Rotated (new)] def456...uvw000',
      '2024-03-04 05:06:02 [Revoked] abc123...xyz789',
      '',
      rule,
      'CURRENT ACTIVE KEY: def456...uvw000',
      '',
    ].join('\n'));
  });

  it('says so when there is no history', () => {
    expect(formatHistoryView([], undefined, '/x/.api_key_history'))
      .to.equal('No key history found in /x/.api_key_history.\nCURRENT ACTIVE KEY: (none)\n');
  });

  it('never contains a full key, in the view or in JSON', () => {
    const text = formatHistoryView(entries, K2, '/h') + JSON.stringify(historyJson(entries, K2, '/h'));
    expect(text.includes(K1) || text.includes(K2)).to.equal(false);
  });

  it('gives scripts masked keys, fingerprints and times', () => {
    const json = historyJson(entries, K2, '/h') as { entries: Array<Record<string, string>>; current: Record<string, string> };
    expect(json.entries).to.have.length(4);
    expect(json.entries[0]).to.include({ stamp: '2024-03-04 05:06:01', action: 'Generated', key: 'abc123...xyz789' });
    expect(json.entries[0]!.fingerprint).to.match(/^sha256:[0-9a-f]{12}$/);
    expect(json.current.key).to.equal('def456...uvw000');
  });

  it('streams JSON exactly as JSON.stringify prints the whole, for no, one and many entries', () => {
    for (const list of [[], entries.slice(0, 1), entries]) {
      for (const current of [undefined, K2]) {
        let text = '';
        const printer = historyPrinter('json', '/h', (chunk) => (text += chunk));
        for (const entry of list) printer.entry(entry);
        printer.end(current);
        expect(text).to.equal(`${JSON.stringify(historyJson(list, current, '/h'), null, 2)}\n`);
      }
    }
  });
});
