/**
 * The known spelling closest to a mistyped `word` (case ignored), or undefined when none is close: at most
 * two edits away (a letter added, dropped, changed, or two letters swapped) and fewer than half of the
 * word's letters (dashes not counted), so `-x` suggests nothing while `-Rotat` suggests `-Rotate`.
 */
export function closestSpelling(word: string, known: readonly string[]): string | undefined {
  const letters = word.replace(/^-+/, '').length;
  let best: { spelling: string; distance: number } | undefined;
  for (const spelling of known) {
    const distance = editDistance(word.toLowerCase(), spelling.toLowerCase());
    if (distance <= 2 && 2 * distance < letters && (best === undefined || distance < best.distance)) best = { spelling, distance };
  }
  return best?.spelling;
}

// Optimal string alignment distance: Levenshtein's edits plus the swap of two neighbouring letters. Row 0 and
// column 0 start as the distance to an empty string (i + j with one of them 0); the rest is filled in below.
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i + j));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      // (At i or j = 1, a[-1] or b[-1] is undefined and matches no letter: no swap is looked for there.)
      if (a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = distance;
    }
  }
  return rows[a.length]![b.length]!;
}
