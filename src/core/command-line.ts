import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

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
 * quoting is unbalanced and which lead nowhere for these programs).
 */
export function parseCommandLine<T extends OptionSpecs>(argv: readonly string[], options: T, allowPositionals: boolean) {
  const args = joinDashValues(argv, options);
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new CommandLineError(plainMessage(err as NodeJS.ErrnoException));
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

function plainMessage(err: NodeJS.ErrnoException): string {
  // Node quotes the argument first: `Unknown option '--x'`, `Option '-f, --force' does not take an argument`.
  const quoted = /'(?:-\w, )?([^' ]+)/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${quoted}" (this program takes only options)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return err.message.includes('does not take an argument') ? `${quoted} takes no value` : `${quoted} needs a value`;
    default:
      return err.message.split('\n')[0]!;
  }
}
