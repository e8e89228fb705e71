import { stat } from 'node:fs/promises';
import { DEFAULT_MAX_GRACE_MS, clampGrace, deriveState } from '../core/history-state.js';
import { historyPathFor, parseHistory } from '../core/history.js';
import { scanHistory } from '../core/history-file.js';
import { readHistoryTail } from '../core/history-tail.js';
import { fingerprint } from '../core/key.js';
import { readKeyFile } from '../core/key-file.js';

/** How the previous key's window is known: set by its rotation, assumed from the server default, or revoked. */
export type WindowOrigin = 'rotation' | 'server-default' | 'revoked';

/** What the key file and its history say about which keys are valid, as of `now`. */
export interface KeyStatus {
  keyFile: string;
  historyFile: string;
  now: Date;
  defaultGraceMs: number;
  maxGraceMs: number;
  /** False when others can write the key files: servers then honour no window from the history. */
  historyTrusted: boolean;
  current: { key: string; since: Date; sinceFrom: 'history' | 'file-mtime' };
  /** False when the history's current key is not the key file's (interrupted rotation, hand edit). */
  historyAgrees: boolean;
  previous?: { key: string; replacedAt: Date; until: Date; valid: boolean; origin: WindowOrigin; askedUntil?: Date };
  entries: number;
  malformed: number;
}

/** What readKeyStatus needs: the files, the time, and the servers' settings it must assume. */
export interface KeyStatusOptions {
  keyFile: string;
  now: Date;
  /** The servers' --grace, for rotations that set no window of their own. */
  defaultGraceMs: number;
  /** The servers' --max-grace: longer windows are cut to it, as servers do. */
  maxGraceMs?: number;
  /** False when others can write the key files (untrustedPaths): as on servers, the history then opens no window. */
  historyTrusted?: boolean;
}

/** Reads the key file (which must hold a valid key) and the history, and works out what is valid now, as servers would. */
export async function readKeyStatus(options: KeyStatusOptions): Promise<KeyStatus> {
  const { keyFile, now } = options;
  const maxGraceMs = options.maxGraceMs ?? DEFAULT_MAX_GRACE_MS;
  const defaultGraceMs = Math.min(options.defaultGraceMs, maxGraceMs);
  const historyTrusted = options.historyTrusted ?? true;
  const key = await readKeyFile(keyFile);
  const historyFile = historyPathFor(keyFile);
  // The state from the history's end, as the server derives it; the counts from a scan in constant memory.
  const tail = await readHistoryTail(historyFile);
  const derived = deriveState(parseHistory(tail.text).entries, !tail.truncated);
  const { state, clamped } = historyTrusted ? clampGrace(derived, maxGraceMs) : { state: { revoked: derived.revoked }, clamped: undefined };
  const { entries, malformed } = await scanHistory(historyFile, () => undefined);
  const historyAgrees = state.current?.key === key;
  const since = historyAgrees ? state.current!.since : (await stat(keyFile)).mtime;
  const status: KeyStatus = {
    keyFile, historyFile, now, defaultGraceMs, maxGraceMs, historyTrusted,
    current: { key, since, sinceFrom: historyAgrees ? 'history' : 'file-mtime' },
    historyAgrees, entries, malformed,
  };
  // The history's previous key only means something when it describes the key actually in force.
  const previous = historyAgrees ? state.previous : undefined;
  if (previous) {
    const origin: WindowOrigin = previous.revoked ? 'revoked' : previous.graceUntil ? 'rotation' : 'server-default';
    const until = origin === 'revoked' ? previous.replacedAt
      : previous.graceUntil ?? new Date(previous.replacedAt.getTime() + defaultGraceMs);
    status.previous = { key: previous.key, replacedAt: previous.replacedAt, until, origin, valid: origin !== 'revoked' && now < until,
      askedUntil: clamped?.asked };
  }
  return status;
}

/** A short age such as `3d 4h`, `9m 12s` or `45s`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts: Array<[number, string]> = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'], [Math.floor(s / 60) % 60, 'm'], [s % 60, 's']];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join(' ');
}

/** The status for people: fingerprints only, times in local time, and any assumption spelled out. */
export function formatKeyStatus(status: KeyStatus, formatTime: (d: Date) => string, formatGrace: (ms: number) => string): string {
  const { current, previous, now } = status;
  const lines = [
    `Key file:     ${status.keyFile}`,
    `History:      ${status.historyFile} (${count(status.entries, 'entry', 'entries')}`
      + `${status.malformed ? `, ${count(status.malformed, 'malformed line', 'malformed lines')} skipped` : ''})`,
    `Current key:  ${fingerprint(current.key)}, valid now; in force since ${formatTime(current.since)} `
      + `(${formatAge(now.getTime() - current.since.getTime())} old${current.sinceFrom === 'file-mtime' ? ', from the file\'s modification time' : ''})`,
  ];
  if (!status.historyTrusted) {
    lines.push('              Warning: others can write the key files or their directory; servers honour no window from the history.');
  } else if (!status.historyAgrees) {
    lines.push('              Warning: the history does not name this key as current (an interrupted rotation or a hand-edited key file).');
  }
  if (!previous) {
    lines.push('Previous key: none');
  } else {
    const fp = fingerprint(previous.key);
    if (previous.origin === 'revoked') {
      lines.push(`Previous key: ${fp}, revoked at ${formatTime(previous.replacedAt)}: not valid`);
    } else if (previous.valid) {
      lines.push(`Previous key: ${fp}, valid until ${formatTime(previous.until)} (${formatAge(previous.until.getTime() - now.getTime())} left)`);
    } else {
      lines.push(`Previous key: ${fp}, not valid since ${formatTime(previous.until)}`);
    }
    if (previous.origin === 'rotation') lines.push('              (window set by its rotation, --grace)');
    if (previous.askedUntil) {
      lines.push(`              (its rotation asked for ${formatTime(previous.askedUntil)}; servers cut windows to --max-grace ${formatGrace(status.maxGraceMs)})`);
    }
    if (previous.origin === 'server-default') {
      lines.push(`              (its rotation set no window: assuming the server's default grace of ${formatGrace(status.defaultGraceMs)}; `
        + 'pass --grace or set QWEN_KEY_GRACE to the server\'s value)');
    }
  }
  return lines.join('\n') + '\n';
}

/** The status for scripts (`status --json`): fingerprints only, ISO times. */
export function keyStatusJson(status: KeyStatus): object {
  const { current, previous } = status;
  return {
    keyFile: status.keyFile, historyFile: status.historyFile, now: status.now, defaultGraceMs: status.defaultGraceMs,
    maxGraceMs: status.maxGraceMs, historyTrusted: status.historyTrusted,
    historyAgrees: status.historyAgrees, entries: status.entries, malformed: status.malformed,
    current: { fingerprint: fingerprint(current.key), since: current.since, sinceFrom: current.sinceFrom,
      ageSeconds: Math.floor((status.now.getTime() - current.since.getTime()) / 1000) },
    previous: previous ? { fingerprint: fingerprint(previous.key), replacedAt: previous.replacedAt, until: previous.until,
      valid: previous.valid, window: previous.origin, askedUntil: previous.askedUntil } : null,
  };
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
