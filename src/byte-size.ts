const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Parses a size such as `1048576`, `512k`, `100mb` or `1g` (binary units) into bytes; throws on anything else. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)$/i.exec(text.trim());
  const factor = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) throw new RangeError(`invalid size "${text}" (use e.g. 1048576, 512k, 100mb, 1g)`);
  const bytes = Math.floor(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`size "${text}" is out of range`);
  return bytes;
}
