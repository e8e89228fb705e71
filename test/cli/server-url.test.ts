import { expect } from 'chai';
import { DEFAULT_URL, serverUrl } from '../../src/cli/server-url.js';
import { UsageError } from '../../src/cli/usage-error.js';

const href = (env: Record<string, string>) => serverUrl(undefined, env).url.href;

function refusal(env: Record<string, string>): string {
  try {
    serverUrl(undefined, env);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('server URL (manage-key test)', () => {
  it('is http://127.0.0.1:8000 with neither --url nor PORT nor HOST, as for the server', () => {
    expect(DEFAULT_URL).to.equal('http://127.0.0.1:8000');
    expect(serverUrl(undefined, {})).to.deep.equal({ url: new URL('http://127.0.0.1:8000/'), origin: 'default' });
    expect(serverUrl(undefined, { PORT: '', HOST: '' }).origin, 'empty variables count as unset').to.equal('default');
  });

  it('follows the PORT and HOST the server reads', () => {
    expect(serverUrl(undefined, { PORT: '28401' })).to.deep.equal({ url: new URL('http://127.0.0.1:28401/'), origin: 'env' });
    expect(serverUrl(undefined, { HOST: 'api.internal' })).to.deep.equal({ url: new URL('http://api.internal:8000/'), origin: 'env' });
    expect(href({ HOST: '10.0.0.7', PORT: '1' })).to.equal('http://10.0.0.7:1/');
    expect(href({ HOST: 'fe80::1', PORT: '65535' })).to.equal('http://[fe80::1]:65535/');
    expect(href({ HOST: 'q' }), 'a one-letter host name').to.equal('http://q:8000/');
  });

  it('asks a server listening on every address on the loopback address of its family', () => {
    expect(href({ HOST: '0.0.0.0', PORT: '9000' })).to.equal('http://127.0.0.1:9000/');
    expect(href({ HOST: '::' })).to.equal('http://[::1]:8000/');
    expect(href({ HOST: '::0' })).to.equal('http://[::1]:8000/');
  });

  it('lets --url win over PORT and HOST', () => {
    const flag = new URL('https://h:1/');
    expect(serverUrl(flag, { PORT: '2', HOST: 'x' })).to.deep.equal({ url: flag, origin: 'flag' });
  });

  it('refuses a PORT no server can be asked on, naming it and --url', () => {
    for (const port of ['0', '65536', '99999', '123456', 'http', '-1', '80a', ' 80']) {
      expect(refusal({ PORT: port }), port).to.equal(`PORT "${port}" is not a port a server can be asked on (1-65535); give the server's URL with --url`);
    }
  });

  it('refuses a HOST that is neither a host name nor an address, naming it and --url', () => {
    for (const host of ['a b', 'x@y', 'a/b', '[::1]', 'a:b', '-a', 'a-', '.a', 'a.']) {
      expect(refusal({ HOST: host }), host).to.equal(`HOST "${host}" is not a host name or address; give the server's URL with --url`);
    }
  });
});
