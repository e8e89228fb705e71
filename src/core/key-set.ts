/** Where the key in force came from, strongest first. */
export type KeySource = 'file' | 'env' | 'development' | 'generated';

/** The keys valid at one moment: the current key and, inside its overlap window, the one it replaced. */
export interface KeySet {
  current: { key: string; source: KeySource; since?: Date };
  /** The replaced key, valid until `until` (exclusive); absent or past means no overlap. */
  previous?: { key: string; until: Date };
}
