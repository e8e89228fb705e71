const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `0`, `500ms`, `30s`, `10m`, `24h`, `90d` into milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  if (text.trim().startsWith('-')) throw new RangeError(`duration "${text}" cannot be negative (use e.g. 0, 30s, 10m, 24h, 90d)`);
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new RangeError(`invalid duration "${text}" (use e.g. 0, 30s, 10m, 24h, 90d)`);
  const value = Number(match[1]);
  const unit = match[2];
  if (unit === undefined && value !== 0) {
    throw new RangeError(`duration "${text}" needs a unit (ms, s, m, h or d)`);
  }
  const ms = Math.round(value * UNITS[unit ?? 'ms']!);
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration "${text}" is too large`);
  return ms;
}

/** Formats milliseconds the way parseDuration reads them, in the largest whole unit. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}
