import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { closestSpelling } from './spelling.js';

/** Option definitions as `util.parseArgs` takes them. */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** A command line that cannot be read; the message is one plain line that names the argument. */
export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

/**
 * `util.parseArgs` (strict) with messages a person can act on, shared by both programs. A value that
 * starts with a dash (`--port -1`, `--grace -5m`) is taken as the option's value, so the value's own
 * check says what is wrong with it; Node would call it "ambiguous" and suggest `--port=-XYZ`. An
 * unknown option, a missing value or a stray word is named in one line, without Node's hints (whose
 * quoting is unbalanced and which lead nowhere for these programs). An unknown option is named as typed,
 * with the closest of the options (`--NAME`) and of `spellings` (other forms the program takes) when one is close.
 */
export function parseCommandLine<T extends OptionSpecs>(argv: readonly string[], options: T, allowPositionals: boolean, spellings: readonly string[] = []) {
  const args = joinDashValues(argv, options);
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    const known = [...Object.keys(options).map((name) => `--${name}`), ...spellings];
    throw new CommandLineError(plainMessage(err as NodeJS.ErrnoException, args, known));
  }
}

function joinDashValues(argv: readonly string[], options: OptionSpecs): string[] {
  const known = (arg: string): boolean => {
    if (arg.startsWith('--')) return Object.hasOwn(options, arg.slice(2).split('=')[0]!);
    return Object.values(options).some((spec) => spec.short !== undefined && arg === `-${spec.short}`);
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    const takesValue = name !== undefined && Object.hasOwn(options, name) && options[name]!.type === 'string';
    if (takesValue && next !== undefined && next.startsWith('-') && next !== '--' && !known(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function plainMessage(err: NodeJS.ErrnoException, args: readonly string[], known: readonly string[]): string {
  // Node quotes the argument first: `Unknown option '--x'`, `Option '-f, --force' does not take an argument`.
  const quoted = /'(?:-\w, )?([^' ]+)/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const typed = typedWord(quoted, args);
      const suggestion = closestSpelling(typed, known);
      return `unknown option ${typed}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${quoted}" (this program takes only options)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return err.message.includes('does not take an argument') ? `${quoted} takes no value` : `${quoted} needs a value`;
    default:
      return err.message.split('\n')[0]!;
  }
}

// Node reads `-Rotat` as the short options -R -o -t -a -t and names only the first it does not know: the
// word the user typed is the first that holds that letter after a single dash (any before it would have failed first).
function typedWord(quoted: string, args: readonly string[]): string {
  if (!/^-[^-]$/.test(quoted)) return quoted;
  return args.find((arg) => /^-[^-]/.test(arg) && arg.includes(quoted[1]!)) ?? quoted;
}
