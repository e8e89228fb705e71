import { expect } from 'chai';
import { UsageError, parseCliArgs } from '../../src/cli/args.js';

function usage(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    expect((err as Error).message).not.to.include('\n');
    return (err as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('cli-args', () => {
  it('defaults to show', () => {
    expect(parseCliArgs([]).command).to.equal('show');
  });

  for (const command of ['generate', 'show', 'rotate', 'history', 'status', 'test']) {
    const pascal = command[0]!.toUpperCase() + command.slice(1);
    for (const spelling of [command, `-${pascal}`, `-${command}`, `-${command.toUpperCase()}`]) {
      it(`reads "${spelling}" as ${command}`, () => expect(parseCliArgs([spelling]).command).to.equal(command));
    }
  }

  for (const command of ['generate', 'show', 'rotate', 'history', 'status', 'test']) {
    it(`reads "--${command}" (and "--${command.toUpperCase()}") as ${command}, since people type it`, () => {
      expect(parseCliArgs([`--${command}`]).command).to.equal(command);
      expect(parseCliArgs([`--${command.toUpperCase()}`, '--key-file', 'k']).command).to.equal(command);
    });
  }

  it('answers the word help with the help command, whatever follows', () => {
    expect(parseCliArgs(['help']).command).to.equal('help');
    expect(parseCliArgs(['HELP', 'rotate']).command).to.equal('help');
  });

  it('answers --version and -Version with the version command', () => {
    expect(parseCliArgs(['--version']).command).to.equal('version');
    expect(parseCliArgs(['-Version']).command).to.equal('version');
  });

  it('names a missing value, a negative duration and an unknown option plainly, without Node\'s hints', () => {
    expect(usage(['rotate', '--grace'])).to.equal('--grace needs a value');
    expect(usage(['rotate', '--grace', '-5m'])).to.equal('--grace: duration "-5m" cannot be negative (use e.g. 0, 30s, 10m, 24h, 90d)');
    expect(usage(['show', '--nope'])).to.equal('unknown option --nope');
    expect(usage(['show', '--force=yes'])).to.equal('--force takes no value');
  });

  it('reads PowerShell parameters in any case, with a space or a colon before the value', () => {
    const a = parseCliArgs(['-Rotate', '-GRACE', '10m', '-KeyFile', 'x/k']);
    expect(a.options).to.include({ graceMs: 600_000, keyFile: 'x/k' });
    expect(parseCliArgs(['-rotate', '-grace:90s']).options.graceMs).to.equal(90_000);
    expect(parseCliArgs(['-Generate', '-Force']).options.force).to.equal(true);
    expect(parseCliArgs(['-Rotate', '-revoke']).options.revoke).to.equal(true);
    expect(parseCliArgs(['-History', '-Json']).options.json).to.equal(true);
    expect(parseCliArgs(['-Test', '-Url', 'http://h:1']).options.url?.href).to.equal('http://h:1/');
    expect(parseCliArgs(['-Test', '-Previous']).options.previous).to.equal(true);
    expect(parseCliArgs(['-Status', '-MaxGrace:1d']).options.maxGraceMs).to.equal(86_400_000);
  });

  it('reads the POSIX options', () => {
    const a = parseCliArgs(['rotate', '--grace=24h', '--key-file', '/k']);
    expect(a.options).to.include({ graceMs: 86_400_000, keyFile: '/k', revoke: false });
    expect(parseCliArgs(['status', '--grace', '0']).options.graceMs).to.equal(0);
  });

  it('answers --help, -h, -Help and -? with the help command', () => {
    for (const flag of ['--help', '-h', '-Help', '-?']) expect(parseCliArgs(['rotate', flag]).command).to.equal('help');
  });

  it('refuses unknown commands, unknown options and two commands at once', () => {
    expect(usage(['frobnicate'])).to.include('unknown command');
    expect(usage(['show', '--nope'])).to.include('--nope');
    expect(usage(['-Nope'])).to.match(/unknown|-N/i);
    expect(usage(['show', 'rotate'])).to.include('one command');
    expect(usage(['-Show', '-Rotate'])).to.include('one command');
  });

  it('names a mistyped option as typed, not by its first letter, with the spelling it is closest to', () => {
    expect(usage(['-Rotat'])).to.equal('unknown option -Rotat; did you mean -Rotate?');
    expect(usage(['-keyfil', 'k'])).to.equal('unknown option -keyfil; did you mean -KeyFile?');
    expect(usage(['-CertKe', 'k'])).to.equal('unknown option -CertKe; did you mean -CertKey?');
    expect(usage(['--rotat'])).to.equal('unknown option --rotat; did you mean --rotate?');
    expect(usage(['rotate', '--grcae', '1h'])).to.equal('unknown option --grcae; did you mean --grace?');
    expect(usage(['-Frobnicate'])).to.equal('unknown option -Frobnicate');
  });

  it('suggests the closest command for a mistyped one, and none for a word far from all of them', () => {
    expect(usage(['rotat'])).to.equal('unknown command "rotat"; did you mean rotate?');
    expect(usage(['Stauts'])).to.equal('unknown command "Stauts"; did you mean status?');
    expect(usage(['frobnicate'])).to.equal('unknown command "frobnicate"');
  });

  it('refuses options that do not apply to the command', () => {
    expect(usage(['show', '--force'])).to.equal('--force does not apply to show');
    expect(usage(['generate', '--grace', '1m'])).to.equal('--grace does not apply to generate');
    expect(usage(['history', '--revoke'])).to.include('--revoke');
    expect(usage(['rotate', '--url', 'http://x'])).to.include('--url');
    expect(usage(['status', '--previous'])).to.equal('--previous does not apply to status');
    expect(usage(['history', '--max-grace', '1d'])).to.equal('--max-grace does not apply to history');
  });

  it('refuses bad values and contradictions', () => {
    expect(usage(['rotate', '--grace', 'soon'])).to.include('--grace');
    expect(usage(['rotate', '--grace', '10'])).to.include('unit');
    expect(usage(['rotate', '--grace'])).to.include('--grace');
    expect(usage(['rotate', '--grace', '1m', '--revoke'])).to.include('contradict');
    expect(usage(['test', '--url', 'not a url'])).to.include('--url');
    expect(usage(['test', '--url', 'ftp://h'])).to.include('http');
    expect(usage(['show', '--key-file', ''])).to.include('--key-file');
  });

  it('takes --ca FILE for test only', () => {
    expect(parseCliArgs(['test', '--url', 'https://h:1', '--ca', 'ca.pem']).options.ca).to.equal('ca.pem');
    expect(parseCliArgs(['-Test', '-Ca', 'ca.pem']).options.ca).to.equal('ca.pem');
    expect(usage(['show', '--ca', 'ca.pem'])).to.equal('--ca does not apply to show');
    expect(usage(['test', '--ca='])).to.equal('--ca needs a path');
  });

  it('takes --cert FILE and --cert-key FILE (-Cert, -CertKey) for test with an https:// URL', () => {
    expect(parseCliArgs(['test', '--url', 'https://h:1', '--cert', 'c.pem', '--cert-key', 'k.pem']).options).to.include({ cert: 'c.pem', certKey: 'k.pem' });
    expect(parseCliArgs(['-Test', '-Url', 'https://h:1', '-Cert', 'c.pem', '-CertKey:k.pem']).options).to.include({ cert: 'c.pem', certKey: 'k.pem' });
    expect(parseCliArgs(['test']).options).to.include({ cert: undefined, certKey: undefined });
  });

  it('refuses --cert without --cert-key and the reverse, without an https:// URL, empty, or for another command', () => {
    const https = ['test', '--url', 'https://h:1'];
    expect(usage([...https, '--cert', 'c.pem'])).to.equal('--cert and --cert-key go together: give both, or neither');
    expect(usage([...https, '--cert-key', 'k.pem'])).to.equal('--cert and --cert-key go together: give both, or neither');
    expect(usage(['test', '--cert', 'c', '--cert-key', 'k'])).to.equal('--cert and --cert-key need an https:// --url');
    expect(usage(['test', '--url', 'http://h:1', '--cert', 'c', '--cert-key', 'k'])).to.equal('--cert and --cert-key need an https:// --url');
    expect(usage([...https, '--cert=', '--cert-key', 'k'])).to.equal('--cert needs a path');
    expect(usage([...https, '--cert', 'c', '--cert-key='])).to.equal('--cert-key needs a path');
    expect(usage(['status', '--cert', 'c', '--cert-key', 'k'])).to.equal('--cert does not apply to status');
  });

  describe('named keys', () => {
    it('takes a NAME after add, remove and rotate, and PowerShell spellings of them', () => {
      expect(parseCliArgs(['add', 'alice'])).to.deep.include({ command: 'add' });
      expect(parseCliArgs(['add', 'alice']).options.name).to.equal('alice');
      expect(parseCliArgs(['-Add', 'alice']).options.name).to.equal('alice');
      expect(parseCliArgs(['-Remove', 'bob']).command).to.equal('remove');
      expect(parseCliArgs(['-LIST']).command).to.equal('list');
      expect(parseCliArgs(['-Rotate', 'carol', '-Grace', '1h']).options).to.include({ name: 'carol', graceMs: 3_600_000 });
      expect(parseCliArgs(['rotate']).options.name).to.equal(undefined);
    });

    it('reads --expires, --clients-file and their PowerShell spellings', () => {
      expect(parseCliArgs(['add', 'a', '--expires', '30d', '--clients-file', 'c']).options).to.include({ expiresMs: 30 * 86_400_000, clientsFile: 'c' });
      expect(parseCliArgs(['-Add', 'a', '-Expires:1h', '-ClientsFile', 'c']).options).to.include({ expiresMs: 3_600_000, clientsFile: 'c' });
      expect(parseCliArgs(['list', '--json', '--clients-file', 'c']).options.json).to.equal(true);
      expect(parseCliArgs(['status', '--clients-file', 'c']).options.clientsFile).to.equal('c');
    });

    it('needs a NAME for add and remove, takes none elsewhere', () => {
      expect(usage(['add'])).to.match(/add needs a NAME/);
      expect(usage(['remove'])).to.match(/remove needs a NAME/);
      expect(usage(['show', 'alice'])).to.match(/one command at a time/);
      expect(usage(['add', 'a', 'b'])).to.match(/one command at a time/);
    });

    it('refuses a name outside the alphabet, and the reserved ones', () => {
      expect(usage(['add', 'Alice'])).to.match(/client name "Alice" is not a client name/);
      expect(usage(['add', 'default'])).to.match(/reserved/);
      expect(usage(['rotate', 'other'])).to.match(/reserved/);
    });

    it('keeps the named keys\' options to their commands', () => {
      expect(usage(['rotate', '--expires', '1d'])).to.match(/--expires does not apply to rotate without a NAME/);
      expect(usage(['rotate', '--clients-file', 'c'])).to.match(/--clients-file does not apply to rotate without a NAME/);
      expect(usage(['generate', '--expires', '1d'])).to.match(/--expires does not apply to generate/);
      expect(usage(['remove', 'a', '--grace', '1h'])).to.match(/--grace does not apply to remove/);
      expect(usage(['add', 'a', '--expires', '0'])).to.match(/--expires: a lifetime longer than 0/);
      expect(usage(['add', 'a', '--clients-file', ''])).to.match(/--clients-file needs a path/);
      expect(usage(['rotate', 'a', '--grace', '1h', '--revoke'])).to.match(/contradict/);
    });
  });
});
