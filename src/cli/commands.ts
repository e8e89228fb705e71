import { UsageError, parseCliArgs, parseGrace } from './args.js';
import type { CliOptions, Command } from './args.js';
import { describeFailure } from './failures.js';
import { HELP } from './help.js';
import { formatDuration } from '../core/duration.js';
import { formatStamp, historyPathFor } from '../core/history.js';
import { fingerprint } from '../core/key.js';
import { probeKeys } from './server-check.js';
import type { KeyProbe } from './server-check.js';
import { KeyFileError } from '../core/errors.js';
import { generateKeyFile, rotateKeyFile } from '../core/key-ops.js';
import { generateRefusal, locateKeyFile, notFoundLine } from './key-location.js';
import type { KeyLocation } from './key-location.js';
import { formatKeyStatus, keyStatusJson, readKeyStatus } from './key-status.js';
import { historyOutput } from './history-command.js';
import { keyToShow } from './show.js';

/** Everything the CLI takes from its process, injected so tests need none. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  clock: () => Date;
  fetch?: typeof fetch;
  /** The package version, for --version. */
  version?: string;
}

/** The server `test` asks when --url is not given. */
export const DEFAULT_URL = 'http://127.0.0.1:8000';

interface Context { io: CliIo; options: CliOptions; keyFile: string; location: KeyLocation }

/** Runs one CLI invocation and resolves to its exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command;
  let ctx: Context;
  try {
    const parsed = parseCliArgs(argv);
    command = parsed.command;
    const location = locateKeyFile(parsed.options.keyFile, io.env, io.cwd);
    ctx = { io, options: parsed.options, keyFile: location.path, location };
    if (command === 'help' || command === 'version') {
      io.stdout(command === 'help' ? HELP : `manage-key (qwen-key-daemon) ${io.version ?? 'unknown'}\n`);
      return 0;
    }
    // The server's default window only matters to commands that reason about one.
    if ((command === 'status' || command === 'test') && parsed.options.graceMs === undefined && io.env.QWEN_KEY_GRACE) {
      parsed.options.graceMs = parseGrace(io.env.QWEN_KEY_GRACE, 'QWEN_KEY_GRACE');
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`manage-key: ${err.message} (see manage-key --help)\n`);
    return 2;
  }
  try {
    return await COMMANDS[command](ctx);
  } catch (err) {
    // No key file: every command names the full path it looked at and how to point elsewhere.
    const missing = err instanceof KeyFileError && err.code === 'KEY_MISSING';
    return fail(io, missing ? await notFoundLine('no key file', ctx.keyFile, ctx.location) : describeFailure(err, ctx.keyFile));
  }
}

const COMMANDS: Record<Exclude<Command, 'help' | 'version'>, (ctx: Context) => Promise<number>> = {
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
    const key = await generateKeyFile({ keyFile, force: options.force, clock: io.clock, onNote: note(io) });
    io.stdout(`${key}\n`);
    io.stderr(`Generated a new key (${fingerprint(key)}) in ${keyFile}; logged in ${historyPathFor(keyFile)}.\n`
      + 'Running servers pick up the new key by themselves; give it to your clients.\n');
    return 0;
  },

  async rotate({ io, options, keyFile }) {
    const time = io.clock();
    const { key, previous } = await rotateKeyFile({
      keyFile, graceMs: options.graceMs, revoke: options.revoke, clock: () => time, onNote: note(io),
    });
    io.stdout(`${key}\n`);
    const fate = options.revoke
      ? 'The old key is revoked: servers refuse it as soon as they see the new key file.'
      : options.graceMs !== undefined
        ? `The old key stays valid until ${formatStamp(new Date(time.getTime() + options.graceMs))} (--grace ${formatDuration(options.graceMs)}).`
        : 'The old key stays valid for the server\'s own grace window (its --grace / QWEN_KEY_GRACE; 0 ends it at once).';
    io.stderr(`Rotated the key in ${keyFile}: ${fingerprint(previous)} -> ${fingerprint(key)}; logged in ${historyPathFor(keyFile)}.\n`
      + `${fate}\nRunning servers pick up the new key by themselves; update your clients with the new key `
      + '(then check with "manage-key test").\n');
    return 0;
  },

  async history({ io, options, location }) {
    const output = await historyOutput(location, options.json);
    if ('failure' in output) return fail(io, output.failure);
    io.stdout(output.stdout);
    for (const text of output.notes) note(io)(text);
    return 0;
  },

  async status({ io, options, keyFile }) {
    const status = await readKeyStatus({ keyFile, now: io.clock(), defaultGraceMs: options.graceMs ?? 0 });
    if (!options.json) {
      io.stdout(formatKeyStatus(status, formatStamp, formatDuration));
      return 0;
    }
    io.stdout(`${JSON.stringify(keyStatusJson(status), null, 2)}\n`);
    return 0;
  },

  async test({ io, options, keyFile }) {
    const status = await readKeyStatus({ keyFile, now: io.clock(), defaultGraceMs: options.graceMs ?? 0 });
    const probes: KeyProbe[] = [{ label: 'current key', key: status.current.key, expect: 'accepted' }];
    const { previous } = status;
    if (previous?.valid) probes.push({ label: `previous key (valid until ${formatStamp(previous.until)})`, key: previous.key, expect: 'accepted' });
    if (previous?.origin === 'revoked') probes.push({ label: 'previous key (revoked)', key: previous.key, expect: 'rejected' });
    const base = options.url ?? new URL(DEFAULT_URL);
    const results = await probeKeys({ base, probes, fetch: io.fetch });
    for (const r of results) {
      io.stdout(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label} ${r.fingerprint}: ${r.outcome} (${r.detail}${r.ok ? '' : `; expected ${r.expected}`})\n`);
    }
    const failed = results.filter((r) => !r.ok);
    if (failed.length === 0) {
      io.stdout(`The server at ${base.href} answers as the key files say.\n`);
      return 0;
    }
    const unreachable = failed.find((r) => r.outcome === 'unreachable');
    io.stderr(`manage-key: ${unreachable ? `cannot reach the server at ${base.href} (${unreachable.detail})`
      : `the server at ${base.href} does not answer as the key files say: ${failed.map((r) => `${r.label} ${r.outcome}`).join('; ')}`}\n`);
    return 1;
  },
};

function fail(io: CliIo, line: string): number {
  io.stderr(`manage-key: ${line}\n`);
  return 1;
}

function note(io: CliIo): (message: string) => void {
  return (message) => io.stderr(`manage-key: note: ${message}\n`);
}
