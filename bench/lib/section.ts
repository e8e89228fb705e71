/** One figure in the results table. */
export interface Metric { name: string; value: number | string; unit?: string; goal?: string; met?: boolean }

/** What a section hands back: its figures, raw details for the JSON file, or why it was skipped. */
export interface SectionResult {
  id: string;
  title: string;
  metrics: Metric[];
  skipped?: string;
  notes?: string[];
  details?: unknown;
  seconds?: number;
}

/** Knobs shared by every section (`--quick` shrinks them for a smoke run). */
export interface BenchSettings {
  quick: boolean;
  rounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** When set, the throughput section runs the daemon with `--cpu-prof` into this directory. */
  profileDir?: string;
  log: (message: string) => void;
}

/** A runnable section. */
export interface Section {
  id: string;
  title: string;
  /** Runs only when named in `--only` (long sections). */
  optIn?: boolean;
  run(settings: BenchSettings): Promise<Omit<SectionResult, 'id' | 'title'>>;
}
