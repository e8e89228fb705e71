import { expect } from 'chai';
import type { ClientRecord } from '../../../src/core/clients-format.js';
import { digestOf } from '../../../src/core/key.js';
import { ClientTable } from '../../../src/server/reload/client-table.js';

const T = Date.UTC(2026, 10, 29, 10);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const rules = { graceMs: HOUR, maxGraceMs: 7 * DAY };
const d = (name: string) => digestOf(`key-of-${name}`);
const record = (name: string, extra: Partial<ClientRecord> = {}): ClientRecord => ({ name, sha256: d(name), created: new Date(T), ...extra });

describe('client table', () => {
  it('maps each key\'s digest to its client: current keys without end unless they expire', () => {
    const table = new ClientTable([record('alice'), record('bob', { expires: new Date(T + DAY) })], rules);
    expect(table.size).to.equal(2);
    expect(table.keys.get(d('alice'))).to.deep.equal({ client: 'alice', key: 'current', until: Infinity });
    expect(table.keys.get(d('bob'))).to.deep.equal({ client: 'bob', key: 'current', until: T + DAY });
  });

  it('keeps a rotated client\'s previous key until the rotation\'s own end', () => {
    const table = new ClientTable([record('a', { previous: { sha256: d('old'), rotated: new Date(T), until: new Date(T + 2 * HOUR) } })], rules);
    expect(table.keys.get(d('old'))).to.deep.equal({ client: 'a', key: 'previous', until: T + 2 * HOUR });
  });

  it('gives a rotation that set no end the server\'s --grace, and none with --grace 0', () => {
    const rotated = record('a', { previous: { sha256: d('old'), rotated: new Date(T) } });
    expect(new ClientTable([rotated], rules).keys.get(d('old'))?.until).to.equal(T + HOUR);
    expect(new ClientTable([rotated], { graceMs: 0, maxGraceMs: DAY }).keys.has(d('old'))).to.equal(false);
  });

  it('cuts a window to --max-grace and counts what it cut', () => {
    const long = record('a', { previous: { sha256: d('old'), rotated: new Date(T), until: new Date(T + 30 * DAY) } });
    const table = new ClientTable([long, record('b')], rules);
    expect(table.keys.get(d('old'))?.until).to.equal(T + 7 * DAY);
    expect(table.windowsCut).to.equal(1);
    expect(new ClientTable([record('b')], rules).windowsCut).to.equal(0);
    const exact = record('a', { previous: { sha256: d('old'), rotated: new Date(T), until: new Date(T + 7 * DAY) } });
    expect(new ClientTable([exact], rules).windowsCut, 'a window of exactly --max-grace').to.equal(0);
  });

  it('ends a previous key no later than its client\'s expiry', () => {
    const table = new ClientTable([record('a', { expires: new Date(T + HOUR / 2), previous: { sha256: d('old'), rotated: new Date(T) } })], rules);
    expect(table.keys.get(d('old'))?.until).to.equal(T + HOUR / 2);
  });

  it('describes counts, open windows and the keys expiring within a week, soonest first and bounded', () => {
    const records = [
      record('gone', { expires: new Date(T - 1) }),
      record('late', { expires: new Date(T + 8 * DAY) }),
      record('soon2', { expires: new Date(T + 2 * DAY) }),
      record('soon1', { expires: new Date(T + DAY) }),
      record('forever', { previous: { sha256: d('old'), rotated: new Date(T - HOUR / 2) } }),
      record('closed', { previous: { sha256: d('old2'), rotated: new Date(T - 2 * HOUR) } }),
    ];
    const description = new ClientTable(records, rules).describe(T, 7 * DAY, 1);
    expect(description).to.deep.equal({
      active: 5, expired: 1, previousKeys: 1, expiringSoonCount: 2,
      expiringSoon: [{ name: 'soon1', fingerprint: `sha256:${d('soon1').slice(0, 12)}`, expires: new Date(T + DAY).toISOString() }],
    });
  });

  it('counts a key expiring exactly now as expired, and one expiring at the week\'s end as soon', () => {
    const table = new ClientTable([record('now', { expires: new Date(T) }), record('edge', { expires: new Date(T + 7 * DAY) })], rules);
    expect(table.describe(T)).to.include({ expired: 1, active: 1, expiringSoonCount: 1 });
  });

  it('lists the next expiries for the metrics, soonest first, skipping expired ones', () => {
    const table = new ClientTable([record('b', { expires: new Date(T + 2) }), record('a', { expires: new Date(T + 1) }), record('x', { expires: new Date(T - 1) })], rules);
    expect(table.nextExpiries(T, 10).map((e) => e.name)).to.deep.equal(['a', 'b']);
    expect(table.nextExpiries(T, 1).map((e) => e.name)).to.deep.equal(['a']);
  });

  it('is empty without clients', () => {
    expect(ClientTable.EMPTY.size).to.equal(0);
    expect(ClientTable.EMPTY.keys.size).to.equal(0);
    expect(ClientTable.EMPTY.describe(T)).to.deep.equal({ active: 0, expired: 0, previousKeys: 0, expiringSoon: [], expiringSoonCount: 0 });
  });
});
