/** The documented history actions; the current key is the latest Generated or Rotated (new). */
export const Action = {
  generated: 'Generated',
  replaced: 'Rotated (replaced)',
  rotatedNew: 'Rotated (new)',
  revoked: 'Revoked',
} as const;

/** Prefix of the action that records a rotation's own overlap window for the replaced key. */
export const GRACE_UNTIL = 'Grace until ';

/** One line of the history: `YYYY-MM-DD HH:MM:SS | Action | Key`, time in local time. */
export interface HistoryEntry {
  time: Date;
  action: string;
  key: string;
}

const LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) \| (.+?) \| (\S+)$/;

/** The history file that belongs to a key file. */
export function historyPathFor(keyFile: string): string {
  return `${keyFile}_history`;
}

/** Formats a time as the history does: local `YYYY-MM-DD HH:MM:SS`. */
export function formatStamp(time: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} `
    + `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
}

/** Formats one history line, without its newline. */
export function formatEntry(entry: HistoryEntry): string {
  return `${formatStamp(entry.time)} | ${entry.action} | ${entry.key}`;
}

/** Parses history text; lines that are not well formed are skipped and counted. */
export function parseHistory(text: string): { entries: HistoryEntry[]; malformed: number } {
  const entries: HistoryEntry[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const entry = parseLine(raw);
    if (entry) entries.push(entry);
    else malformed++;
  }
  return { entries, malformed };
}

/** Parses one history line (a trailing CR allowed); undefined when it is not well formed. */
export function parseLine(raw: string): HistoryEntry | undefined {
  const m = LINE.exec(raw.replace(/\r$/, ''));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, action, key] = m;
  const time = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  // Date rolls impossible fields over (2024-02-30 becomes March 1st); such a line is not well formed.
  if (time.getMonth() !== Number(mo) - 1 || time.getDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return undefined;
  }
  return { time, action: action!, key: key! };
}
