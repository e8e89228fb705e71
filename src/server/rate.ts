import { parseDuration } from '../core/duration.js';

/** A number of events allowed per period, e.g. 30 per minute. */
export interface Rate {
  count: number;
  periodMs: number;
}

/** Parses `N/DURATION` (e.g. `30/1m`, `5/10s`) into a Rate; throws on anything else. */
export function parseRate(text: string): Rate {
  const match = /^(\d{1,9})\/(.+)$/.exec(text.trim());
  const count = match ? Number(match[1]) : 0;
  const periodMs = match ? parseDuration(match[2]!) : 0;
  if (count < 1 || periodMs <= 0) throw new RangeError(`invalid rate "${text}" (use e.g. 30/1m, or off)`);
  return { count, periodMs };
}
