import { clientNameProblem } from '../core/client-name.js';
import { parseDuration } from '../core/duration.js';
import type { Command } from './args.js';
import { UsageError } from './usage-error.js';

/** The named keys' own options and how they are spelled. */
export const CLIENT_FLAGS = { expiresMs: '--expires', clientsFile: '--clients-file' } as const;

// The commands that take a NAME: `add` and `remove` need one, `rotate` acts on the static key without.
const NAMED: Partial<Record<Command, 'required' | 'optional'>> = { add: 'required', remove: 'required', rotate: 'optional' };

/** The NAME after a command that takes one; a second word after any other command is a usage error. */
export function nameOf(command: Command, positionals: readonly string[]): string | undefined {
  const takesName = NAMED[command] !== undefined;
  if (positionals.length > (takesName ? 2 : 1)) throw new UsageError(`one command at a time (got: ${positionals.join(', ')})`);
  return takesName ? positionals[1] : undefined;
}

/** Refuses a missing NAME where one is needed, and a name outside the alphabet or reserved. */
export function checkName(command: Command, name: string | undefined): void {
  if (NAMED[command] === 'required' && name === undefined) throw new UsageError(`${command} needs a NAME (e.g. manage-key ${command} alice)`);
  if (name === undefined) return;
  const problem = clientNameProblem(name);
  if (problem) throw new UsageError(`client name ${JSON.stringify(name)} ${problem}`);
}

/** A key's lifetime (`--expires`): a duration longer than 0. */
export function parseLifetime(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`--expires: ${(err as Error).message}`);
  }
  if (ms <= 0) throw new UsageError('--expires: a lifetime longer than 0 (e.g. 30d)');
  return ms;
}
