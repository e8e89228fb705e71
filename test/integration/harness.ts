import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fingerprint, generateKey } from '../../src/core/key.js';
import { eventually, registerSecret, spawnServer, statusOf } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { runCli } from '../cli/processes.js';
import type { Finished } from '../cli/processes.js';

// Shared by the process-level tests: the real server (`node dist/server.js`) and the real CLI
// (`node dist/cli.js`), observed only through HTTP, log lines and the files, as a user would.

/** Starts the real server on `keyFile` (port 0, loopback). Failed-auth throttling is off: tests poll with keys not yet valid. */
export function startServer(keyFile: string, args: string[] = []): Promise<ServerProcess> {
  return spawnServer({ args: ['--port', '0', '--host', '127.0.0.1', '--key-file', keyFile, '--auth-fail-limit', 'off', ...args] });
}

/** A new key, registered so the suite-level check can prove no server ever printed it. */
export function freshKey(): string {
  const key = generateKey();
  registerSecret(key);
  return key;
}

/** Runs `node dist/cli.js ARGS` in `cwd`; every key it prints is registered as a secret. */
export async function manageKey(args: string[], cwd: string, env?: Record<string, string>): Promise<Finished> {
  const done = await runCli(args, { cwd, env });
  for (const match of done.stdout.matchAll(/qwk_[A-Za-z0-9_-]{43}/g)) registerSecret(match[0]);
  return done;
}

/** Runs `manage-key generate|rotate ...`, which must succeed, and returns the key it printed. */
export async function keyFrom(args: string[], cwd: string): Promise<string> {
  const done = await manageKey(args, cwd);
  if (done.code !== 0) throw new Error(`manage-key ${args.join(' ')} exited ${done.code}: ${done.stderr.trim()}`);
  return done.stdout.trim();
}

/** Waits until the server accepts `key`; resolves to the ms since `since`, and fails after `limitMs`. */
export async function acceptedWithin(server: ServerProcess, key: string, since = Date.now(), limitMs = 1000): Promise<number> {
  for (;;) {
    if (await accepts(server, key)) return Date.now() - since;
    if (Date.now() - since > limitMs) throw new Error(`${fingerprint(key)} not accepted within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Runs a command (a shell, sed, vim) to its end; resolves to its exit code. */
export function run(command: string, args: string[], env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', ...env } });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

/** Whether the server accepts `key` right now (GET /api/v1/health answers 200). */
export async function accepts(server: ServerProcess, key: string): Promise<boolean> {
  return (await statusOf(`${server.url}/api/v1/health`, key)) === 200;
}

/** The previous key as /api/v1/health describes it. */
export interface PreviousKeyInfo {
  fingerprint: string;
  until: string;
  active: boolean;
}

/** The parts of the health answer these tests look at. */
export interface Health {
  key: { fingerprint: string; source: string };
  previousKey?: PreviousKeyInfo;
  lastReload?: { outcome: string; trigger: string; reason?: string };
}

/** /api/v1/health as seen with `key` (which must be accepted). */
export async function health(server: ServerProcess, key: string): Promise<Health> {
  const res = await fetch(`${server.url}/api/v1/health`, { headers: { 'X-API-Key': key } });
  if (res.status !== 200) throw new Error(`health answered ${res.status} for ${fingerprint(key)}`);
  return (await res.json()) as Health;
}

/** One sample of /metrics, e.g. `qwen_key_reloads_total{result="rejected"}`; 0 when absent. */
export async function metric(server: ServerProcess, key: string, sample: string): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': key } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status} for ${fingerprint(key)}`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** Waits until a log line after the first `from` lines matches. */
export async function logged(server: ServerProcess, from: number, match: (line: Record<string, unknown>) => boolean, timeoutMs = 3000): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await eventually(() => (found = server.lines().slice(from).find(match)) !== undefined, timeoutMs, 10);
  return found!;
}

/** How a key change looked from a client polling the server. */
export interface Swap {
  /** From the start of the change (or the time `change` resolved to) until the new key was first accepted. */
  latencyMs: number;
  rounds: number;
  /** Rounds in which neither the old key nor the new one was accepted. */
  lockouts: number;
}

/**
 * Runs `change` while a client presents the old key, then the new one, every few ms until the new key
 * is accepted; fails if that takes more than `limitMs`. `change` may resolve to the time the change
 * really happened (a file's mtime) when it includes slow set-up such as starting a process.
 */
export async function swap(server: ServerProcess, old: string, next: string, change: () => Promise<number | void>, limitMs = 1000): Promise<Swap> {
  let since = Date.now();
  let changed = false;
  const changing = change().then((at) => {
    if (typeof at === 'number') since = at;
    changed = true;
  });
  let rounds = 0;
  let lockouts = 0;
  let acceptedAt: number | undefined;
  try {
    while (acceptedAt === undefined) {
      // Old first, then new: once the old key is refused the swap has happened, so the new one must pass.
      const oldOk = await accepts(server, old);
      const newOk = await accepts(server, next);
      rounds++;
      if (!oldOk && !newOk) lockouts++;
      if (newOk) acceptedAt = Date.now();
      else if (changed && Date.now() - since > limitMs) break;
      else await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await changing;
  }
  if (acceptedAt === undefined) throw new Error(`new key ${fingerprint(next)} not accepted within ${limitMs} ms`);
  return { latencyMs: acceptedAt - since, rounds, lockouts };
}

/** Polls `key` until the server refuses it; resolves to when that was seen and how many times it was accepted before. */
export async function refusal(server: ServerProcess, key: string, deadline: number): Promise<{ at: number; acceptedBefore: number }> {
  let acceptedBefore = 0;
  for (;;) {
    if (!(await accepts(server, key))) return { at: Date.now(), acceptedBefore };
    acceptedBefore++;
    if (Date.now() > deadline) throw new Error(`${fingerprint(key)} still accepted at the deadline`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Holds for `ms`: fails at once if `check` ever turns false (an invariance check, not a wait). */
export async function holds(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await check())) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** One history line, parsed independently of the code under test: local time, action, key. */
export interface HistoryLine {
  time: number;
  action: string;
  key: string;
}

/** The history file next to `keyFile`, line by line. */
export async function historyLines(keyFile: string): Promise<HistoryLine[]> {
  const text = await readFile(`${keyFile}_history`, 'utf8');
  return text.split('\n').filter(Boolean).map((line) => {
    const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) \| (.+) \| (\S+)$/.exec(line);
    if (!m) throw new Error('history line not in the documented format');
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    return { time: new Date(y, mo - 1, d, h, mi, s).getTime(), action: m[7]!, key: m[8]! };
  });
}

/** The documented rule: the key in force is the latest `Generated` or `Rotated (new)` entry. */
export function activeKeyOf(lines: HistoryLine[]): HistoryLine | undefined {
  return lines.filter((l) => l.action === 'Generated' || l.action === 'Rotated (new)').at(-1);
}

/** Pickup latencies by case, printed once (numbers only, never key material). */
export class Latencies {
  readonly #samples = new Map<string, number[]>();

  add(name: string, ms: number): void {
    this.#samples.set(name, [...(this.#samples.get(name) ?? []), Math.round(ms)]);
  }

  report(title: string): void {
    const rows = [...this.#samples].map(([name, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return `    ${name.padEnd(44)} n=${String(list.length).padStart(2)}  median ${String(sorted[Math.floor(sorted.length / 2)]).padStart(4)} ms  max ${String(sorted.at(-1)).padStart(4)} ms`;
    });
    console.log(`\n  ${title} — pickup latency through HTTP\n${rows.join('\n')}`);
  }
}
