import { expect } from 'chai';
import { toErrorAnswer } from '../../../src/server/http/http-errors.js';

describe('toErrorAnswer', () => {
  it('shows the message of an exposed client error, with its headers', () => {
    const thrown = Object.assign(new Error('slow down'), { status: 429, expose: true, headers: { 'Retry-After': '3' } });
    expect(toErrorAnswer(thrown)).to.deep.equal({ status: 429, detail: 'slow down', headers: { 'Retry-After': '3' } });
  });

  it('turns a URIError (bad percent-encoding) into 400', () => {
    expect(toErrorAnswer(new URIError('URI malformed'))).to.deep.include({ status: 400 });
  });

  it('hides the message of unexpected errors and of 5xx', () => {
    expect(toErrorAnswer(new Error('db password is hunter2'))).to.deep.include({ status: 500, detail: 'Internal server error' });
    expect(toErrorAnswer(Object.assign(new Error('x'), { status: 502, expose: true }))).to.deep.include({ detail: 'Internal server error' });
  });

  it('uses the standard phrase for an unexposed client error (e.g. Koa body errors)', () => {
    expect(toErrorAnswer(Object.assign(new Error('raw'), { status: 413 }))).to.deep.include({ status: 413, detail: 'Payload Too Large' });
  });

  it('survives odd thrown values', () => {
    for (const value of [undefined, null, 42, 'text', { status: 'x' }, { status: 999 }]) {
      expect(toErrorAnswer(value).status).to.equal(500);
    }
  });
});
