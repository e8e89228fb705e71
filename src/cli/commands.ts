import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError, parseCliArgs, parseGrace } from './args.js';
import type { CliOptions, Command } from './args.js';
import { describeFailure } from './failures.js';
import { HELP } from './help.js';
import { formatDuration } from '../core/duration.js';
import { deriveState } from '../core/history-state.js';
import { formatStamp, historyPathFor } from '../core/history.js';
import { readHistory } from '../core/history-file.js';
import { formatHistoryView, historyJson } from './history-view.js';
import { fingerprint } from '../core/key.js';
import { probeKeys, trustingFetch } from './server-check.js';
import type { KeyProbe } from './server-check.js';
import { readKeyFile } from '../core/key-file.js';
import { generateKeyFile, rotateKeyFile } from '../core/key-ops.js';
import { formatKeyStatus, readKeyStatus } from './key-status.js';

/** Everything the CLI takes from its process, injected so tests need none. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  clock: () => Date;
  fetch?: typeof fetch;
}

/** The key file used when neither --key-file nor QWEN_API_KEY_FILE names one. */
export const DEFAULT_KEY_FILE = 'api/.api_key';
/** The server `test` asks when --url is not given. */
export const DEFAULT_URL = 'http://127.0.0.1:8000';

interface Context { io: CliIo; options: CliOptions; keyFile: string }

/** Runs one CLI invocation and resolves to its exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command;
  let ctx: Context;
  try {
    const parsed = parseCliArgs(argv);
    command = parsed.command;
    const keyFile = resolve(io.cwd, parsed.options.keyFile ?? (io.env.QWEN_API_KEY_FILE || DEFAULT_KEY_FILE));
    ctx = { io, options: parsed.options, keyFile };
    if (command === 'help') {
      io.stdout(HELP);
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
    io.stderr(`manage-key: ${describeFailure(err, ctx.keyFile)}\n`);
    return 1;
  }
}

const COMMANDS: Record<Exclude<Command, 'help'>, (ctx: Context) => Promise<number>> = {
  async show({ io, keyFile }) {
    io.stdout(`${await readKeyFile(keyFile)}\n`);
    return 0;
  },

  async generate({ io, options, keyFile }) {
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

  async history({ io, options, keyFile }) {
    const historyFile = historyPathFor(keyFile);
    const { entries, malformed } = await readHistory(historyFile);
    // The documented rule: the current active key is the latest Generated or Rotated (new) entry.
    const current = deriveState(entries).current?.key;
    io.stdout(options.json
      ? `${JSON.stringify(historyJson(entries, current, historyFile), null, 2)}\n`
      : formatHistoryView(entries, current, historyFile));
    if (malformed > 0) io.stderr(`manage-key: note: skipped ${malformed} malformed line(s) in ${historyFile}\n`);
    const inFile = await readKeyFile(keyFile).catch(() => undefined);
    if (inFile !== undefined && inFile !== current) {
      io.stderr(`manage-key: note: ${keyFile} holds a key the history does not name as current (${fingerprint(inFile)}); it was changed without manage-key\n`);
    }
    return 0;
  },

  async status({ io, options, keyFile }) {
    const status = await readKeyStatus({ keyFile, now: io.clock(), defaultGraceMs: options.graceMs ?? 0 });
    if (!options.json) {
      io.stdout(formatKeyStatus(status, formatStamp, formatDuration));
      return 0;
    }
    const { current, previous } = status;
    io.stdout(`${JSON.stringify({
      keyFile, historyFile: status.historyFile, now: status.now, defaultGraceMs: status.defaultGraceMs,
      historyAgrees: status.historyAgrees, entries: status.entries, malformed: status.malformed,
      current: { fingerprint: fingerprint(current.key), since: current.since, sinceFrom: current.sinceFrom,
        ageSeconds: Math.floor((status.now.getTime() - current.since.getTime()) / 1000) },
      previous: previous ? { fingerprint: fingerprint(previous.key), replacedAt: previous.replacedAt, until: previous.until,
        valid: previous.valid, window: previous.origin } : null,
    }, null, 2)}\n`);
    return 0;
  },

  async test({ io, options, keyFile }) {
    const status = await readKeyStatus({ keyFile, now: io.clock(), defaultGraceMs: options.graceMs ?? 0 });
    const probes: KeyProbe[] = [{ label: 'current key', key: status.current.key, expect: 'accepted' }];
    const { previous } = status;
    if (previous?.valid) probes.push({ label: `previous key (valid until ${formatStamp(previous.until)})`, key: previous.key, expect: 'accepted' });
    if (previous?.origin === 'revoked') probes.push({ label: 'previous key (revoked)', key: previous.key, expect: 'rejected' });
    const base = options.url ?? new URL(DEFAULT_URL);
    // A private CA is trusted for this check only, and only through --ca: verification is never turned off.
    const trusting = options.ca === undefined ? undefined : await trustingFetch(await readFile(resolve(io.cwd, options.ca)));
    const results = await probeKeys({ base, probes, fetch: io.fetch ?? trusting?.fetch }).finally(() => trusting?.close());
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

function note(io: CliIo): (message: string) => void {
  return (message) => io.stderr(`manage-key: note: ${message}\n`);
}
