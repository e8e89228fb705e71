import { CommandLineError, parseCommandLine } from '../core/command-line.js';
import { parseDuration } from '../core/duration.js';
import { closestSpelling } from '../core/spelling.js';
import { CLIENT_FLAGS, checkName, nameOf, parseLifetime } from './client-args.js';
import { UsageError } from './usage-error.js';

/** The CLI's commands; `help` and `version` are what `--help` and `--version` ask for. */
export const COMMANDS = ['generate', 'show', 'rotate', 'history', 'status', 'test', 'add', 'list', 'remove'] as const;
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
  /** `test --url https://…`: a client certificate (PEM) for a server that requires one, and its private key (`certKey`). */
  cert?: string;
  certKey?: string;
  /** The named key `add`, `remove` and `rotate NAME` act on. */
  name?: string;
  /** `add`, `rotate NAME`: the key's lifetime from now. */
  expiresMs?: number;
  /** The clients file; environment and default (beside the key file) by the command layer. */
  clientsFile?: string;
}

/** A parsed command line. */
export interface ParsedArgs {
  command: Command;
  options: CliOptions;
}

export { UsageError } from './usage-error.js';

// PowerShell parameter names (taken in any case) and the POSIX spelling each one stands for.
const POWERSHELL: Record<string, string> = {
  Generate: 'generate', Show: 'show', Rotate: 'rotate', History: 'history', Status: 'status', Test: 'test',
  Add: 'add', List: 'list', Remove: 'remove', Expires: '--expires', ClientsFile: '--clients-file',
  Force: '--force', Revoke: '--revoke', Grace: '--grace', KeyFile: '--key-file', Url: '--url', Json: '--json', Ca: '--ca',
  Cert: '--cert', CertKey: '--cert-key', MaxGrace: '--max-grace', Previous: '--previous', Help: '--help', '?': '--help', Version: '--version',
};
const POWERSHELL_ANY_CASE = new Map(Object.entries(POWERSHELL).map(([name, posix]) => [name.toLowerCase(), posix]));
// What an unknown option is compared with, besides the --options: the PowerShell names and the commands typed as options.
const SPELLINGS = [...Object.keys(POWERSHELL).map((name) => `-${name}`), ...COMMANDS.map((command) => `--${command}`)];

// Which options each command accepts; anything else is a usage error rather than silently ignored.
const ALLOWED: Record<Command, ReadonlyArray<keyof CliOptions>> = {
  generate: ['force'], show: [], rotate: ['graceMs', 'revoke', 'maxGraceMs', 'expiresMs', 'clientsFile'], history: ['json'],
  status: ['graceMs', 'json', 'maxGraceMs', 'clientsFile'], test: ['url', 'graceMs', 'maxGraceMs', 'previous', 'ca', 'cert', 'certKey'],
  help: [], version: [],
  add: ['expiresMs', 'clientsFile'], list: ['json', 'clientsFile'], remove: ['clientsFile'],
};
const FLAG_NAMES: Record<Exclude<keyof CliOptions, 'name'>, string> = {
  keyFile: '--key-file', force: '--force', revoke: '--revoke', graceMs: '--grace', json: '--json', url: '--url', ca: '--ca',
  cert: '--cert', certKey: '--cert-key', maxGraceMs: '--max-grace', previous: '--previous', ...CLIENT_FLAGS,
};

/** Turns argv (without node and script) into a command and its options; throws UsageError. */
export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseCommandLine(argv.map(fromPowerShell).map(fromDoubleDash), {
      force: { type: 'boolean' }, revoke: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' }, previous: { type: 'boolean' }, grace: { type: 'string' }, 'max-grace': { type: 'string' },
      'key-file': { type: 'string' }, url: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, 'cert-key': { type: 'string' },
      expires: { type: 'string' }, 'clients-file': { type: 'string' },
    }, true, SPELLINGS);
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0]?.toLowerCase() === 'help') return { command: 'help', options: { force: false, revoke: false, json: false, previous: false } };
  const word = positionals[0]?.toLowerCase() ?? 'show';
  if (!(COMMANDS as readonly string[]).includes(word)) {
    const suggestion = closestSpelling(word, COMMANDS);
    throw new UsageError(`unknown command "${positionals[0]}"${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`);
  }
  const options: CliOptions = {
    name: nameOf(word as Command, positionals),
    expiresMs: values.expires === undefined ? undefined : parseLifetime(values.expires),
    clientsFile: values['clients-file'],
    keyFile: values['key-file'],
    force: values.force ?? false,
    revoke: values.revoke ?? false,
    json: values.json ?? false,
    graceMs: values.grace === undefined ? undefined : parseGrace(values.grace, '--grace'),
    maxGraceMs: values['max-grace'] === undefined ? undefined : parseGrace(values['max-grace'], '--max-grace'),
    previous: values.previous ?? false,
    url: values.url === undefined ? undefined : parseUrl(values.url),
    ca: values.ca,
    cert: values.cert,
    certKey: values['cert-key'],
  };
  for (const name of ['keyFile', 'ca', 'cert', 'certKey', 'clientsFile'] as const) {
    if (options[name] === '') throw new UsageError(`${FLAG_NAMES[name]} needs a path`);
  }
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
  const mapped = POWERSHELL_ANY_CASE.get(ps[1]!.toLowerCase());
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
  checkName(command, options.name);
  for (const name of Object.keys(FLAG_NAMES) as Array<keyof typeof FLAG_NAMES>) {
    const given = options[name] !== undefined && options[name] !== false;
    // rotate without a NAME is the static key's: the named keys' options do not apply there.
    const unnamed = command === 'rotate' && options.name === undefined && name in CLIENT_FLAGS;
    if (given && name !== 'keyFile' && (!ALLOWED[command].includes(name) || unnamed)) {
      throw new UsageError(`${FLAG_NAMES[name]} does not apply to ${command}${unnamed ? ' without a NAME' : ''}`);
    }
  }
  checkClientCertificate(options);
}

// A client certificate is presented in a TLS handshake, so only to an https:// URL, and only with its key.
function checkClientCertificate({ cert, certKey, url }: CliOptions): void {
  if ((cert === undefined) !== (certKey === undefined)) throw new UsageError('--cert and --cert-key go together: give both, or neither');
  if (cert !== undefined && url?.protocol !== 'https:') throw new UsageError('--cert and --cert-key need an https:// --url');
}
