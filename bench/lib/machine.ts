import { cpus, totalmem, release, availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';

/** What the numbers were measured on; printed with every table. */
export interface Machine { cpu: string; cores: number; memoryGiB: number; node: string; os: string; loadAverageAtStart: number }

/** Describes this machine (CPU model, logical cores, Node version). */
export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${osName()} (kernel ${release()})`,
    // Other work on the machine skews every figure; the 1-minute load average before the run shows how much.
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}
