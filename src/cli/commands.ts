import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError, parseCliArgs, parseGrace } from './args.js';
import type { CliOptions, Command } from './args.js';
import { CLIENT_COMMANDS } from './client-commands.js';
import { clientsStatus } from './client-status.js';
import { note } from './context.js';
import type { CliIo, Context } from './context.js';
import { clientsPathFor } from '../core/clients-file.js';
import { describeFailure } from './failures.js';
import { HELP } from './help.js';
import { formatDuration } from '../core/duration.js';
import { formatStamp, historyPathFor } from '../core/history.js';
import { fingerprint } from '../core/key.js';
import { KeyFileError } from '../core/errors.js';
import { tlsFetch } from './server-check.js';
import { serverUrl } from './server-url.js';
import { generateKeyFile, rotateKeyFile } from '../core/key-ops.js';
import { DEFAULT_MAX_GRACE_MS } from '../core/history-state.js';
import { describeFindings, untrustedPaths } from '../core/file-trust.js';
import { generateRefusal, locateKeyFile, notFoundLine } from './key-location.js';
import { formatKeyStatus, keyStatusJson, readKeyStatus } from './key-status.js';
import { printHistory } from './history-command.js';
import { keyToShow } from './show.js';
import { testServer } from './test-command.js';
import { rotationNotes } from './rotation-notes.js';

export type { CliIo } from './context.js';

/** Runs one CLI invocation and resolves to its exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command;
  let ctx: Context;
  try {
    const parsed = parseCliArgs(argv);
    command = parsed.command;
    const location = locateKeyFile(parsed.options.keyFile, io.env, io.cwd);
    const clientsFile = resolve(io.cwd, parsed.options.clientsFile ?? (io.env.QWEN_API_CLIENTS_FILE || clientsPathFor(location.path)));
    ctx = { io, options: parsed.options, keyFile: location.path, location, clientsFile };
    if (command === 'help' || command === 'version') {
      io.stdout(command === 'help' ? HELP : `manage-key (qwen-key-daemon) ${io.version ?? 'unknown'}\n`);
      return 0;
    }
    applyEnvironment(command, parsed.options, io.env);
    if (command === 'test') ctx.server = serverUrl(parsed.options.url, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`manage-key: ${err.message} (see manage-key --help)\n`);
    return 2;
  }
  try {
    // Writers refuse what they cannot trust (writeTarget); readers say what others could have changed.
    if (!WRITERS.has(command)) await warnUntrusted(ctx);
    return await COMMANDS[command](ctx);
  } catch (err) {
    // No key file: every command names the full path it looked at and how to point elsewhere.
    const missing = err instanceof KeyFileError && err.code === 'KEY_MISSING';
    return fail(io, missing ? await notFoundLine('no key file', ctx.keyFile, ctx.location) : describeFailure(err, ctx.keyFile, ctx.clientsFile));
  }
}

const WRITERS = new Set<Command>(['generate', 'rotate', 'add', 'remove']);

const COMMANDS: Record<Exclude<Command, 'help' | 'version'>, (ctx: Context) => Promise<number>> = {
  add: CLIENT_COMMANDS.add,
  list: CLIENT_COMMANDS.list,
  remove: CLIENT_COMMANDS.remove,

  async show({ io, location }) {
    const shown = await keyToShow(location, io.env);
    if ('failure' in shown) return fail(io, shown.failure);
    io.stdout(`${shown.key}\n`);
    if (shown.note) note(io)(shown.note);
    return 0;
  },

  async generate({ io, options, keyFile, location }) {
    const refusal = await generateRefusal(location);
    if (refusal) return fail(io, refusal);
    const key = await generateKeyFile({ keyFile, force: options.force, clock: io.clock, onNote: note(io), identity: io.identity });
    io.stdout(`${key}\n`);
    io.stderr(`Generated a new key (${fingerprint(key)}) in ${keyFile}; logged in ${historyPathFor(keyFile)}.\n`
      + 'Running servers pick up the new key by themselves; give it to your clients.\n');
    return 0;
  },

  async rotate(ctx) {
    const { io, options, keyFile } = ctx;
    if (options.name !== undefined) return CLIENT_COMMANDS.rotate(ctx);
    const time = io.clock();
    const { key, previous } = await rotateKeyFile({
      keyFile, graceMs: options.graceMs, revoke: options.revoke, clock: () => time, onNote: note(io), identity: io.identity,
    });
    io.stdout(`${key}\n`);
    io.stderr(await rotationNotes({ keyFile, key, previous, time, graceMs: options.graceMs, revoke: options.revoke }));
    return 0;
  },

  async history({ io, options, location }) {
    const failure = await printHistory(location, options.json, { stdout: io.stdout, note: note(io) });
    return failure === undefined ? 0 : fail(io, failure);
  },

  async status(ctx) {
    const { io, options } = ctx;
    const status = await statusOf(ctx);
    const clients = await clientsStatus(ctx);
    io.stdout(options.json ? `${JSON.stringify({ ...keyStatusJson(status), clients: clients.json }, null, 2)}\n`
      : formatKeyStatus(status, formatStamp, formatDuration) + clients.text);
    return 0;
  },

  async test(ctx) {
    const { io, options } = ctx;
    const status = await statusOf(ctx);
    const read = async (file?: string) => (file === undefined ? undefined : readFile(resolve(io.cwd, file)));
    const [ca, cert, key] = [await read(options.ca), await read(options.cert), await read(options.certKey)];
    // A private CA (--ca) and a client certificate (--cert) hold for this check only: verification is never turned off.
    const custom = ca !== undefined || cert !== undefined ? await tlsFetch({ ca, cert, key }) : undefined;
    return testServer({
      status, server: ctx.server!, previous: options.previous, clientCertificate: cert !== undefined, fetch: io.fetch ?? custom?.fetch,
      stdout: io.stdout, stderr: io.stderr,
    }).finally(() => custom?.close());
  },
};

// What the files say now, as servers with the assumed --grace and --max-grace would read them.
async function statusOf({ io, options, keyFile, untrusted }: Context) {
  const historyTrusted = (untrusted ?? []).length === 0;
  return readKeyStatus({ keyFile, now: io.clock(), defaultGraceMs: options.graceMs ?? 0, maxGraceMs: options.maxGraceMs, historyTrusted });
}

// Environment fallbacks for the servers' settings, only for commands that reason about windows.
function applyEnvironment(command: Command, options: CliOptions, env: CliIo['env']): void {
  if ((command === 'status' || command === 'test') && options.graceMs === undefined && env.QWEN_KEY_GRACE) {
    options.graceMs = parseGrace(env.QWEN_KEY_GRACE, 'QWEN_KEY_GRACE');
  }
  if (command !== 'status' && command !== 'test' && command !== 'rotate') return;
  options.maxGraceMs ??= env.QWEN_MAX_GRACE ? parseGrace(env.QWEN_MAX_GRACE, 'QWEN_MAX_GRACE') : DEFAULT_MAX_GRACE_MS;
  if (command === 'rotate' && options.graceMs !== undefined && options.graceMs > options.maxGraceMs) {
    throw new UsageError(`--grace ${formatDuration(options.graceMs)} is longer than servers honour (--max-grace ${formatDuration(options.maxGraceMs)}, `
      + 'QWEN_MAX_GRACE); pass the servers\' --max-grace if it is longer');
  }
}

async function warnUntrusted(ctx: Context): Promise<void> {
  const { io, keyFile, clientsFile } = ctx;
  const findings = ctx.untrusted = await untrustedPaths(keyFile, { ...io.identity, clientsFile }).catch(() => []);
  if (findings.length > 0) {
    io.stderr(`manage-key: warning: ${describeFindings(findings)}; whoever can write there can change which keys are valid (chmod go-w)\n`);
  }
}

function fail(io: CliIo, line: string): number {
  io.stderr(`manage-key: ${line}\n`);
  return 1;
}
