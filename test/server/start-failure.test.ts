import { expect } from 'chai';
import { describeStartFailure } from '../../src/server/start-failure.js';
import { FirstKeyError, InvalidEnvKeyError } from '../../src/server/reload/key-source.js';

const settings = { host: '127.0.0.1', port: 8000, keyFile: 'api/.api_key', cwd: '/srv/qwen' };
const errno = (code: string, syscall: string, extra: Record<string, unknown> = {}): NodeJS.ErrnoException =>
  Object.assign(new Error(`${syscall} ${code}`), { code, syscall, ...extra });

describe('describeStartFailure', () => {
  it('calls an invalid QWEN_API_KEY bad configuration: exit 2, and how to fix it', () => {
    const err = new InvalidEnvKeyError('KEY_INVALID_CHARS', 'QWEN_API_KEY is not a valid key: it holds a space (KEY_INVALID_CHARS)');
    expect(describeStartFailure(err, settings)).to.deep.equal({
      exitCode: 2,
      line: 'QWEN_API_KEY is not a valid key: it holds a space (KEY_INVALID_CHARS); fix QWEN_API_KEY or unset it (bad configuration: exit code 2)',
    });
  });

  it('names a port in use, and how to choose another', () => {
    expect(describeStartFailure(errno('EADDRINUSE', 'listen'), settings)).to.deep.equal({
      exitCode: 1,
      line: 'cannot listen on 127.0.0.1:8000: the port is already in use (another server, or this one already running?); '
        + 'stop that one, or choose another port with --port N (or PORT)',
    });
  });

  it('names a privileged port, an address not on this machine and a host name that does not resolve', () => {
    expect(describeStartFailure(errno('EACCES', 'listen'), { ...settings, port: 80 }).line).to.equal(
      'cannot listen on 127.0.0.1:80: permission denied (ports below 1024 need privileges); choose a port from 1024 up with --port N (or PORT)');
    expect(describeStartFailure(errno('EADDRNOTAVAIL', 'listen'), { ...settings, host: '10.9.9.9' }).line).to.equal(
      'cannot listen on 10.9.9.9:8000: that address is not one of this machine\'s; choose another with --host H (or HOST), e.g. 127.0.0.1 or 0.0.0.0');
    expect(describeStartFailure(errno('ENOTFOUND', 'getaddrinfo'), { ...settings, host: 'nowhere' }).line).to.equal(
      'cannot listen on nowhere:8000: the host name does not resolve; choose another with --host H (or HOST), e.g. 127.0.0.1 or 0.0.0.0');
  });

  it('writes an IPv6 address in brackets', () => {
    expect(describeStartFailure(errno('EADDRINUSE', 'listen'), { ...settings, host: '::1' }).line).to.match(/^cannot listen on \[::1\]:8000: /);
  });

  it('finds the system error down the cause chain', () => {
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: errno('EADDRINUSE', 'listen') }) });
    expect(describeStartFailure(wrapped, settings).line).to.match(/the port is already in use/);
  });

  it('describes a listen error it has no words for as a plain start failure', () => {
    expect(describeStartFailure(errno('EMFILE', 'listen'), settings)).to.deep.equal({ exitCode: 1, line: 'cannot start: listen EMFILE' });
    expect(describeStartFailure(errno('EADDRINUSE', 'bind'), settings)).to.deep.equal({ exitCode: 1, line: 'cannot start: bind EADDRINUSE' });
  });

  it('says where a first-run key could not be written, why in words, and the ways out', () => {
    const cause = errno('EACCES', 'mkdir', { path: 'api' });
    expect(describeStartFailure(new FirstKeyError('api/.api_key', { cause }), settings)).to.deep.equal({
      exitCode: 1,
      line: 'no key yet, and a first-run key could not be generated into /srv/qwen/api/.api_key: /srv/qwen/api: permission denied (EACCES); '
        + 'make that directory writable, point --key-file (or QWEN_API_KEY_FILE) at a writable place, or set QWEN_API_KEY',
    });
  });

  it('puts every system error it knows in words, and the message of one it does not', () => {
    const words: Record<string, string> = {
      EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
      ENOTDIR: 'a part of the path is not a directory', EEXIST: 'a file of that name is in the way', EISDIR: 'it is a directory',
    };
    for (const [code, text] of Object.entries(words)) {
      const line = describeStartFailure(new FirstKeyError('k', { cause: errno(code, 'open', { path: '/abs/k' }) }), settings).line;
      expect(line, code).to.include(`: /abs/k: ${text} (${code}); `);
    }
    const odd = describeStartFailure(new FirstKeyError('k', { cause: errno('EXDEV', 'rename') }), settings).line;
    expect(odd).to.include('into /srv/qwen/api/.api_key: rename EXDEV (EXDEV); ');
  });

  it('gives the cause\'s own message when a first-run key failed without a system error', () => {
    const line = describeStartFailure(new FirstKeyError('k', { cause: new Error('lock lost') }), settings).line;
    expect(line).to.include('into /srv/qwen/api/.api_key: lock lost; ');
    const odd = describeStartFailure(new FirstKeyError('k', { cause: 'a string' }), settings).line;
    expect(odd).to.include('into /srv/qwen/api/.api_key: a string; ');
  });

  it('takes only E-codes for system errors: a Node or undici error code is not one', () => {
    for (const code of ['ERR_INVALID_ARG_TYPE', 'UND_ERR_SOCKET']) {
      const cause = Object.assign(new Error('bad option'), { code });
      expect(describeStartFailure(new FirstKeyError('k', { cause }), settings).line, code).to.include('into /srv/qwen/api/.api_key: bad option; ');
    }
  });

  it('copes with a failure without a cause, or nothing thrown at all', () => {
    expect(describeStartFailure(new FirstKeyError('k', { cause: undefined }), settings).line).to.include('into /srv/qwen/api/.api_key: undefined; ');
    expect(describeStartFailure(undefined, settings)).to.deep.equal({ exitCode: 1, line: 'cannot start: undefined' });
  });

  it('looks five causes deep at most', () => {
    let err: Error = errno('EADDRINUSE', 'listen');
    for (let i = 0; i < 5; i++) err = new Error(`wrap ${i}`, { cause: err });
    expect(describeStartFailure(err, settings).line).to.equal('cannot start: wrap 4');
  });

  it('puts any other failure on one line', () => {
    expect(describeStartFailure(new Error('first\n  second\r\nthird'), settings)).to.deep.equal({ exitCode: 1, line: 'cannot start: first second third' });
    expect(describeStartFailure('plain text', settings).line).to.equal('cannot start: plain text');
  });
});
