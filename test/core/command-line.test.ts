import { expect } from 'chai';
import { CommandLineError, parseCommandLine } from '../../src/core/command-line.js';

const OPTIONS = { port: { type: 'string' }, force: { type: 'boolean', short: 'f' }, name: { type: 'string' } } as const;

function failure(argv: string[], allowPositionals = false): string {
  try {
    parseCommandLine(argv, OPTIONS, allowPositionals);
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

  it('leaves "--" and the --name=value form alone', () => {
    expect(parseCommandLine(['--port=-2', '--', '-x'], OPTIONS, true)).to.deep.include({ positionals: ['-x'] });
  });
});
