import { expect } from 'chai';
import { CommandLineError, parseCommandLine } from '../../src/core/command-line.js';

const OPTIONS = { port: { type: 'string' }, force: { type: 'boolean', short: 'f' }, name: { type: 'string' } } as const;

function failure(argv: string[], allowPositionals = false, spellings: string[] = []): string {
  try {
    parseCommandLine(argv, OPTIONS, allowPositionals, spellings);
  } catch (err) {
    expect(err).to.be.instanceOf(CommandLineError);
    return (err as Error).message;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

describe('parseCommandLine', () => {
  it('takes a value that starts with a dash as the option\'s value, for its own check to judge', () => {
    expect(parseCommandLine(['--port', '-1'], OPTIONS, false).values.port).to.equal('-1');
    expect(parseCommandLine(['--name', '-5m', '--force'], OPTIONS, false).values).to.deep.include({ name: '-5m', force: true });
  });

  it('does not swallow a following option as a value: the option before it needs one', () => {
    expect(failure(['--port', '--force'])).to.equal('--port needs a value');
    expect(failure(['--port', '-f'])).to.equal('--port needs a value');
    expect(failure(['--port'])).to.equal('--port needs a value');
  });

  it('names an unknown option, a stray word and a value given to a switch, on one line', () => {
    for (const [argv, message] of [
      [['--nope'], 'unknown option --nope'],
      [['-x'], 'unknown option -x'],
      [['word'], 'unexpected argument "word" (this program takes only options)'],
      [['--force=1'], '--force takes no value'],
    ] as const) {
      expect(failure([...argv])).to.equal(message);
    }
    expect(failure(['--nope'], true)).to.equal('unknown option --nope');
  });

  it('names the whole word Node reads as a group of short options, not its first letter', () => {
    expect(failure(['-Rotat'])).to.equal('unknown option -Rotat');
    expect(failure(['-fx'])).to.equal('unknown option -fx');
    expect(failure(['-f', '-x', '-yx'])).to.equal('unknown option -x');
    expect(failure(['--name', 'value', '-zap'])).to.equal('unknown option -zap');
  });

  it('looks for that word only for a single letter after a single dash, and only among words that start with one', () => {
    expect(failure(['-f', '--x'])).to.equal('unknown option --x');
    expect(failure(['-f', '--nope'])).to.equal('unknown option --nope');
    expect(failure(['ab-x', '-x'], true)).to.equal('unknown option -x');
  });

  it('suggests the closest option or other known spelling for an unknown option, and nothing when none is close', () => {
    expect(failure(['--prot', '1'])).to.equal('unknown option --prot; did you mean --port?');
    expect(failure(['-port', '1'])).to.equal('unknown option -port; did you mean --port?');
    expect(failure(['--xyzzy'])).to.equal('unknown option --xyzzy');
    expect(failure(['-Rotat'], true, ['-Rotate'])).to.equal('unknown option -Rotat; did you mean -Rotate?');
    expect(failure(['--forc'], true, ['-Rotate'])).to.equal('unknown option --forc; did you mean --force?');
  });

  it('leaves "--" and the --name=value form alone', () => {
    expect(parseCommandLine(['--port=-2', '--', '-x'], OPTIONS, true)).to.deep.include({ positionals: ['-x'] });
  });
});
