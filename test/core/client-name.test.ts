import { expect } from 'chai';
import { CLIENT_NAME_PATTERN, DEFAULT_CLIENT, OTHER_CLIENTS, clientNameProblem } from '../../src/core/client-name.js';
import { CLIENT_ACTION_PREFIX, clientAction, isClientAction, parseClientAction } from '../../src/core/client-history.js';

describe('client names', () => {
  it('accepts lower-case letters, digits, dot, underscore and dash, starting with a letter or digit, up to 63', () => {
    for (const name of ['alice', 'a', '0', 'team-7.ci_bot', 'x'.repeat(63)]) expect(clientNameProblem(name), name).to.equal(undefined);
  });

  it('refuses empty, too long, upper-case, spaces, slashes, a leading dot or dash, and non-ASCII names', () => {
    for (const name of ['', 'x'.repeat(64), 'Alice', 'al ice', 'a/b', '.hidden', '-x', '_x', 'é', 'a\nb', 'a|b']) {
      expect(clientNameProblem(name), JSON.stringify(name)).to.match(/^is not a client name/);
    }
  });

  it('reserves default (the static key) and other (the metrics overflow)', () => {
    expect(clientNameProblem(DEFAULT_CLIENT)).to.match(/reserved.*static key/);
    expect(clientNameProblem(OTHER_CLIENTS)).to.match(/reserved.*metrics/);
  });

  it('never repeats the name it refuses, so a key pasted as a name reaches no message', () => {
    const key = 'qwk_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0uvw';
    expect(clientNameProblem(key)).to.not.include(key.slice(4, 20));
  });

  it('anchors the pattern at both ends', () => {
    expect(CLIENT_NAME_PATTERN.test('ok\nBAD')).to.equal(false);
    expect(CLIENT_NAME_PATTERN.test('BAD\nok')).to.equal(false);
  });
});

describe('client history actions', () => {
  it('formats and parses each event, with and without detail', () => {
    expect(clientAction('added', 'alice')).to.equal('Client added (alice)');
    expect(clientAction('added', 'alice', 'expires 2026-01-01T00:00:00.000Z')).to.equal('Client added (alice, expires 2026-01-01T00:00:00.000Z)');
    for (const event of ['added', 'rotated', 'replaced', 'removed'] as const) {
      expect(parseClientAction(clientAction(event, 'a.b-c_1'))).to.deep.equal({ event, name: 'a.b-c_1' });
    }
    expect(parseClientAction('Client replaced (bob, revoked)')).to.deep.equal({ event: 'replaced', name: 'bob', detail: 'revoked' });
  });

  it('recognises only its own actions', () => {
    for (const action of ['Generated', 'Rotated (new)', 'Client renamed (a)', 'Client added (Alice)', 'Client added alice', 'x Client added (a)', 'Client added (a) x']) {
      expect(parseClientAction(action), action).to.equal(undefined);
    }
    expect(isClientAction('Client added (a)')).to.equal(true);
    expect(isClientAction('Rotated (new)')).to.equal(false);
    expect(CLIENT_ACTION_PREFIX).to.equal('Client ');
  });
});
