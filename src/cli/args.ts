import { CommandLineError, parseCommandLine } from '../core/command-line.js';
import { parseDuration } from '../core/duration.js';

/** The CLI's commands; `help` and `version` are what `--help` and `--version` ask for. */
export const COMMANDS = ['generate', 'show', 'rotate', 'history', 'status', 'test'] as const;
/** One CLI command. */
export type Command = (typeof COMMANDS)[number] | 'help' | 'version';

/** Options as given on the command line; environment fallbacks are applied by the command layer. */
export interface CliOptions {
  keyFile?: string;
  force: boolean;
  revoke: boolean;
  graceMs?: number;
  /** The longest window servers honour (their --max-grace); environment fallback by the command layer. */
  maxGraceMs?: number;
  json: boolean;
  url?: URL;
  /** `test`: present the previous key too (never sent unless asked). */
  previous: boolean;
  /** CA certificate file (PEM) that the server's certificate must chain to, for `test --url https://…`. */
  ca?: string;
}

/** A parsed command line. */
export interface ParsedArgs {
  command: Command;
  options: CliOptions;
}

/** A mistake in how the CLI was called (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// PowerShell parameter names (any case) and the POSIX spelling each one stands for.
const POWERSHELL: Record<string, string> = {
  generate: 'generate', show: 'show', rotate: 'rotate', history: 'history', status: 'status', test: 'test',
  force: '--force', revoke: '--revoke', grace: '--grace', keyfile: '--key-file', url: '--url', json: '--json', ca: '--ca',
  maxgrace: '--max-grace', previous: '--previous', help: '--help', '?': '--help', version: '--version',
};

// Which options each command accepts; anything else is a usage error rather than silently ignored.
const ALLOWED: Record<Command, ReadonlyArray<keyof CliOptions>> = {
  generate: ['force'], show: [], rotate: ['graceMs', 'revoke', 'maxGraceMs'], history: ['json'],
  status: ['graceMs', 'json', 'maxGraceMs'], test: ['url', 'graceMs', 'maxGraceMs', 'previous', 'ca'], help: [], version: [],
};
const FLAG_NAMES: Record<keyof CliOptions, string> = {
  keyFile: '--key-file', force: '--force', revoke: '--revoke', graceMs: '--grace', json: '--json', url: '--url', ca: '--ca',
  maxGraceMs: '--max-grace', previous: '--previous',
};

/** Turns argv (without node and script) into a command and its options; throws UsageError. */
export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseCommandLine(argv.map(fromPowerShell).map(fromDoubleDash), {
      force: { type: 'boolean' }, revoke: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' }, previous: { type: 'boolean' }, grace: { type: 'string' }, 'max-grace': { type: 'string' },
      'key-file': { type: 'string' }, url: { type: 'string' }, ca: { type: 'string' },
    }, true);
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0]?.toLowerCase() === 'help') return { command: 'help', options: { force: false, revoke: false, json: false, previous: false } };
  if (positionals.length > 1) throw new UsageError(`one command at a time (got: ${positionals.join(', ')})`);
  const word = positionals[0]?.toLowerCase() ?? 'show';
  if (!(COMMANDS as readonly string[]).includes(word)) throw new UsageError(`unknown command "${positionals[0]}"`);
  const options: CliOptions = {
    keyFile: values['key-file'],
    force: values.force ?? false,
    revoke: values.revoke ?? false,
    json: values.json ?? false,
    graceMs: values.grace === undefined ? undefined : parseGrace(values.grace, '--grace'),
    maxGraceMs: values['max-grace'] === undefined ? undefined : parseGrace(values['max-grace'], '--max-grace'),
    previous: values.previous ?? false,
    url: values.url === undefined ? undefined : parseUrl(values.url),
    ca: values.ca,
  };
  if (options.keyFile === '') throw new UsageError('--key-file needs a path');
  if (options.ca === '') throw new UsageError('--ca needs a path');
  const command: Command = values.version ? 'version' : (word as Command);
  if (command !== 'version') checkApplicable(command, options);
  return { command, options };
}

/** Parses a grace duration, naming where it came from in the usage error. */
export function parseGrace(text: string, origin: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UsageError(`${origin}: ${(err as Error).message}`);
  }
}

function fromPowerShell(arg: string): string {
  const ps = /^-([A-Za-z?]+)(?::(.*))?$/.exec(arg);
  if (!ps || ps[1]!.length < 2 && ps[1] !== '?') return arg;
  const mapped = POWERSHELL[ps[1]!.toLowerCase()];
  if (mapped === undefined) return arg;
  // PowerShell's `-Grace:10m` form carries its value after a colon.
  return ps[2] === undefined ? mapped : `${mapped}=${ps[2]}`;
}

// People type the commands as options too (`--history`, `--Rotate`): they mean the command.
function fromDoubleDash(arg: string): string {
  const word = /^--([A-Za-z]+)$/.exec(arg)?.[1]?.toLowerCase();
  return word !== undefined && (COMMANDS as readonly string[]).includes(word) ? word : arg;
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: "${text}" is not a URL (e.g. http://127.0.0.1:8000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url: use an http:// or https:// URL`);
  return url;
}

function checkApplicable(command: Command, options: CliOptions): void {
  if (options.graceMs !== undefined && options.revoke) throw new UsageError('--grace and --revoke contradict each other; choose one');
  for (const name of Object.keys(FLAG_NAMES) as Array<keyof CliOptions>) {
    const given = options[name] !== undefined && options[name] !== false;
    if (given && name !== 'keyFile' && !ALLOWED[command].includes(name)) {
      throw new UsageError(`${FLAG_NAMES[name]} does not apply to ${command}`);
    }
  }
}
