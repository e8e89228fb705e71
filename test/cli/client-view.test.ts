import { expect } from 'chai';
import { clientJson, formatClientList, formatClientsSummary, summariseClients } from '../../src/cli/client-view.js';
import type { ClientRecord } from '../../src/core/clients-format.js';

const NOW = new Date('2026-11-29T10:00:00.000Z');
const FILE = '/srv/api/.api_clients';
/** Times in UTC, so the expected text does not depend on the machine's zone. */
const iso = (d: Date): string => d.toISOString();
const at = (text: string): Date => new Date(text);
const digest = (c: string): string => c.repeat(64);

describe('client-view: clientJson', () => {
  it('gives a client without expiry or previous key null for both, and not expired', () => {
    const record: ClientRecord = { name: 'alice', sha256: digest('a'), created: at('2026-11-01T08:00:00.000Z') };
    expect(clientJson(record, NOW)).to.deep.equal({
      name: 'alice', fingerprint: 'sha256:aaaaaaaaaaaa', created: '2026-11-01T08:00:00.000Z', expires: null, expired: false, previous: null,
    });
  });

  it('calls a key expired from its very expiry on, and not a millisecond before', () => {
    const record = (expires: string): ClientRecord => ({ name: 'bob', sha256: digest('b'), created: at('2026-11-01T08:00:00.000Z'), expires: at(expires) });
    expect(clientJson(record('2026-11-29T09:59:59.999Z'), NOW).expired, 'before now').to.equal(true);
    expect(clientJson(record('2026-11-29T10:00:00.000Z'), NOW).expired, 'at now').to.equal(true);
    expect(clientJson(record('2026-11-29T10:00:00.001Z'), NOW).expired, 'after now').to.equal(false);
    expect(clientJson(record('2026-11-29T10:00:00.001Z'), NOW).expires).to.equal('2026-11-29T10:00:00.001Z');
  });

  it('shows a previous key by fingerprint, with its rotation and its end, or null for the server\'s grace', () => {
    const base = { name: 'ci', sha256: digest('c'), created: at('2026-11-28T10:00:00.000Z') };
    const withUntil: ClientRecord = { ...base, previous: { sha256: digest('d'), rotated: at('2026-11-28T10:00:00.000Z'), until: at('2026-11-28T11:00:00.000Z') } };
    const withoutUntil: ClientRecord = { ...base, previous: { sha256: digest('e'), rotated: at('2026-11-28T10:00:00.000Z') } };
    expect(clientJson(withUntil, NOW).previous).to.deep.equal({ fingerprint: 'sha256:dddddddddddd', rotated: '2026-11-28T10:00:00.000Z', until: '2026-11-28T11:00:00.000Z' });
    expect(clientJson(withoutUntil, NOW).previous).to.deep.equal({ fingerprint: 'sha256:eeeeeeeeeeee', rotated: '2026-11-28T10:00:00.000Z', until: null });
  });
});

describe('client-view: formatClientList', () => {
  it('says there are no named keys, naming the file', () => {
    expect(formatClientList([], FILE, NOW, iso)).to.equal('No named keys in /srv/api/.api_clients.\n');
  });

  it('prints a table whose columns are as wide as their widest cell or heading, the last one unpadded', () => {
    const records: ClientRecord[] = [
      { name: 'a', sha256: digest('1'), created: at('2026-11-01T08:00:00.000Z') },
      { name: 'a-rather-long-client-name', sha256: digest('2'), created: at('2026-11-02T08:00:00.000Z'), expires: at('2026-12-24T00:00:00.000Z') },
    ];
    expect(formatClientList(records, FILE, NOW, iso)).to.equal(
      'Named keys in /srv/api/.api_clients:\n'
      + 'NAME                       FINGERPRINT          CREATED                   EXPIRES                   STATE\n'
      + 'a                          sha256:111111111111  2026-11-01T08:00:00.000Z  never                     active\n'
      + 'a-rather-long-client-name  sha256:222222222222  2026-11-02T08:00:00.000Z  2026-12-24T00:00:00.000Z  active\n',
    );
  });

  it('calls a key expired from its very expiry on', () => {
    const record = (name: string, expires: string): ClientRecord => ({ name, sha256: digest('3'), created: at('2026-11-01T08:00:00.000Z'), expires: at(expires) });
    const text = formatClientList([record('before', '2026-11-29T09:59:59.999Z'), record('at', '2026-11-29T10:00:00.000Z'), record('after', '2026-11-29T10:00:00.001Z')], FILE, NOW, iso);
    expect(text.split('\n').slice(2, 5)).to.deep.equal([
      'before  sha256:333333333333  2026-11-01T08:00:00.000Z  2026-11-29T09:59:59.999Z  expired',
      'at      sha256:333333333333  2026-11-01T08:00:00.000Z  2026-11-29T10:00:00.000Z  expired',
      'after   sha256:333333333333  2026-11-01T08:00:00.000Z  2026-11-29T10:00:00.001Z  active',
    ]);
  });

  it('says whether a previous key\'s window is still open, has ended, or is the server\'s grace', () => {
    const record = (name: string, previous: ClientRecord['previous']): ClientRecord => ({ name, sha256: digest('4'), created: at('2026-11-29T09:00:00.000Z'), previous });
    const rotated = at('2026-11-29T09:00:00.000Z');
    const text = formatClientList([
      record('open', { sha256: digest('5'), rotated, until: at('2026-11-29T10:00:00.001Z') }),
      record('ending', { sha256: digest('6'), rotated, until: at('2026-11-29T10:00:00.000Z') }),
      record('ended', { sha256: digest('7'), rotated, until: at('2026-11-29T09:30:00.000Z') }),
      record('grace', { sha256: digest('8'), rotated }),
    ], FILE, NOW, iso);
    expect(text.split('\n').slice(2, 6)).to.deep.equal([
      'open    sha256:444444444444  2026-11-29T09:00:00.000Z  never    active; previous key sha256:555555555555 until 2026-11-29T10:00:00.001Z',
      'ending  sha256:444444444444  2026-11-29T09:00:00.000Z  never    active; previous key sha256:666666666666 ended 2026-11-29T10:00:00.000Z',
      'ended   sha256:444444444444  2026-11-29T09:00:00.000Z  never    active; previous key sha256:777777777777 ended 2026-11-29T09:30:00.000Z',
      'grace   sha256:444444444444  2026-11-29T09:00:00.000Z  never    active; previous key sha256:888888888888 for the server\'s grace after 2026-11-29T09:00:00.000Z',
    ]);
  });
});

describe('client-view: summariseClients', () => {
  const record = (name: string, c: string, expires?: string): ClientRecord =>
    ({ name, sha256: digest(c), created: at('2026-11-01T08:00:00.000Z'), ...(expires ? { expires: at(expires) } : {}) });

  it('counts a key expired from its very expiry on, the others active', () => {
    const summary = summariseClients([
      record('gone', 'a', '2026-11-29T09:59:59.999Z'), record('now', 'b', '2026-11-29T10:00:00.000Z'),
      record('later', 'c', '2027-01-01T00:00:00.000Z'), record('never', 'd'),
    ], FILE, NOW);
    expect(summary).to.deep.equal({ clientsFile: FILE, active: 2, expired: 2, expiringSoon: [] });
  });

  it('lists the keys expiring within seven days, the last millisecond included, soonest first', () => {
    const summary = summariseClients([
      record('week', 'a', '2026-12-06T10:00:00.000Z'), record('past-week', 'b', '2026-12-06T10:00:00.001Z'),
      record('day', 'c', '2026-11-30T10:00:00.000Z'), record('expired-now', 'd', '2026-11-29T10:00:00.000Z'),
      record('hour', 'e', '2026-11-29T11:00:00.000Z'), record('never', 'f'),
    ], FILE, NOW);
    expect(summary.expiringSoon).to.deep.equal([
      { name: 'hour', fingerprint: 'sha256:eeeeeeeeeeee', expires: at('2026-11-29T11:00:00.000Z') },
      { name: 'day', fingerprint: 'sha256:cccccccccccc', expires: at('2026-11-30T10:00:00.000Z') },
      { name: 'week', fingerprint: 'sha256:aaaaaaaaaaaa', expires: at('2026-12-06T10:00:00.000Z') },
    ]);
    expect([summary.active, summary.expired]).to.deep.equal([5, 1]);
  });
});

describe('client-view: formatClientsSummary', () => {
  it('prints the counts and the file, then one line per key expiring soon', () => {
    const text = formatClientsSummary({
      clientsFile: FILE, active: 3, expired: 1,
      expiringSoon: [
        { name: 'hour', fingerprint: 'sha256:eeeeeeeeeeee', expires: at('2026-11-29T11:00:00.000Z') },
        { name: 'week', fingerprint: 'sha256:aaaaaaaaaaaa', expires: at('2026-12-06T10:00:00.000Z') },
      ],
    }, iso);
    expect(text).to.equal(
      'Named keys:   3 active, 1 expired (/srv/api/.api_clients)\n'
      + '              expires within 7 days: hour sha256:eeeeeeeeeeee on 2026-11-29T11:00:00.000Z\n'
      + '              expires within 7 days: week sha256:aaaaaaaaaaaa on 2026-12-06T10:00:00.000Z\n',
    );
  });

  it('prints one line for a file with nothing expiring soon', () => {
    expect(formatClientsSummary({ clientsFile: FILE, active: 0, expired: 0, expiringSoon: [] }, iso)).to.equal('Named keys:   0 active, 0 expired (/srv/api/.api_clients)\n');
  });

  it('says why an unusable file is unusable, and that servers keep their last good set', () => {
    expect(formatClientsSummary({ clientsFile: FILE, active: 0, expired: 0, expiringSoon: [], error: 'bad JSON at line 2' }, iso))
      .to.equal('Named keys:   /srv/api/.api_clients is unusable (bad JSON at line 2); servers keep their last good set\n');
  });
});
