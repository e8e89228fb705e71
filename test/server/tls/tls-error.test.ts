import { expect } from 'chai';
import { TlsError } from '../../../src/server/tls/tls-error.js';

describe('TlsError', () => {
  it('names itself in messages and stack traces, and carries its code and cause', () => {
    const cause = new Error('ENOENT');
    const err = new TlsError('TLS_FILE_MISSING', 'cannot read the certificate /x/tls.crt', { cause });
    expect(String(err)).to.equal('TlsError: cannot read the certificate /x/tls.crt');
    expect(err.stack).to.match(/^TlsError: cannot read the certificate/);
    expect(err).to.include({ name: 'TlsError', code: 'TLS_FILE_MISSING', cause });
    expect(err).to.be.instanceOf(Error);
  });
});
