import { expect } from 'chai';
import { requestIdSource } from '../../src/proxy/request-id.js';

describe('requestIdSource', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('makes UUID-shaped ids, all different, from one random prefix and a counter', () => {
    const next = requestIdSource();
    const ids = Array.from({ length: 1000 }, next);
    for (const id of ids) expect(id).to.match(UUID);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 24))).size).to.equal(1);
  });

  it('gives each source its own prefix', () => {
    expect(requestIdSource()().slice(0, 24)).to.not.equal(requestIdSource()().slice(0, 24));
  });

  it('wraps the counter within its 12 hex digits', () => {
    const next = requestIdSource(() => '00000000-0000-4000-8000-000000000000');
    expect(next()).to.equal('00000000-0000-4000-8000-000000000001');
    expect(next()).to.equal('00000000-0000-4000-8000-000000000002');
  });
});
