import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { collect } from '../../helpers/log-capture.js';

const FIXTURE = join(import.meta.dirname, 'fixture-cluster.ts');

interface LogLine { message: string; port?: number; pid?: number; [k: string]: unknown }

/** The fixture cluster as a real process tree, with its JSON log lines collected. */
class Cluster {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(...args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => { collect(text); process.stderr.write(text); });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      collect(line + '\n');
      try { this.lines.push(JSON.parse(line) as LogLine); } catch { /* not a log line */ }
    });
  }
  /** Waits until `count` lines match, failing after `timeoutMs`. */
  async waitFor(match: (l: LogLine) => boolean, count = 1, timeoutMs = 8000): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} matching line(s); saw: ${this.lines.map((l) => l.message).join(', ')}`);
      await sleep(10);
    }
  }
  listening(): Promise<LogLine[]> {
    return this.waitFor((l) => l.message === 'listening', 1);
  }
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** GET over a fresh connection, so the cluster can hand it to any worker; resolves to the body (a pid). */
function get(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

/** Requests until every pid in `want` has answered. */
async function answeredBy(port: number, want: number[], timeoutMs = 5000): Promise<void> {
  const seen = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (!want.every((p) => seen.has(p))) {
    if (Date.now() > deadline) throw new Error(`not every worker answered: want ${want.join(',')}, saw ${[...seen].join(',')}`);
    seen.add(Number(await get(port)));
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('workers: the cluster primary (real processes)', function () {
  this.timeout(20000);
  let cluster: Cluster | undefined;
  const workerPids = (): number[] => cluster!.lines.filter((l) => l.message === 'listening').map((l) => l.pid!);
  afterEach(async () => {
    // Workers exit on their own when the primary's IPC channel closes.
    cluster?.kill();
    for (const pid of cluster ? workerPids() : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
    cluster = undefined;
  });

  it('runs N workers that all answer on one shared port', async () => {
    cluster = new Cluster('2');
    const lines = await cluster.waitFor((l) => l.message === 'listening', 2);
    expect(new Set(lines.map((l) => l.port)).size).to.equal(1);
    expect(new Set(lines.map((l) => l.pid)).size).to.equal(2);
    await answeredBy(lines[0]!.port!, lines.map((l) => l.pid!));
  });

  it('restarts a killed worker, which then answers', async () => {
    cluster = new Cluster('2');
    const [first, second] = await cluster.waitFor((l) => l.message === 'listening', 2);
    process.kill(first!.pid!, 'SIGKILL');
    await cluster.waitFor((l) => l.message === 'worker died' && l.signal === 'SIGKILL');
    const lines = await cluster.waitFor((l) => l.message === 'listening', 3);
    const replacement = lines[2]!.pid!;
    expect([first!.pid, second!.pid]).not.to.include(replacement);
    await answeredBy(first!.port!, [second!.pid!, replacement]);
  });

  it('forwards SIGHUP to every worker', async () => {
    cluster = new Cluster('2');
    await cluster.waitFor((l) => l.message === 'listening', 2);
    cluster.child.kill('SIGHUP');
    const hups = await cluster.waitFor((l) => l.message === 'hup', 2);
    expect(new Set(hups.map((l) => l.pid))).to.deep.equal(new Set(workerPids()));
  });

  it('on SIGTERM lets a request in flight finish, stops every worker and exits 0', async () => {
    cluster = new Cluster('2');
    const lines = await cluster.waitFor((l) => l.message === 'listening', 2);
    const slow = get(lines[0]!.port!, '/slow');
    const [arrived] = await cluster.waitFor((l) => l.message === 'slow request');
    cluster.child.kill('SIGTERM');
    expect(Number(await slow)).to.equal(arrived!.pid);
    expect(await cluster.exited).to.equal(0);
    expect(workerPids().filter(alive)).to.deep.equal([]);
    expect(cluster.lines.filter((l) => l.message === 'restarting worker')).to.have.length(0);
  });

  it('does not restart workers on SIGINT and exits 0', async () => {
    cluster = new Cluster('2');
    await cluster.waitFor((l) => l.message === 'listening', 2);
    cluster.child.kill('SIGINT');
    expect(await cluster.exited).to.equal(0);
    expect(cluster.lines.filter((l) => l.message === 'worker stopped')).to.have.length(2);
  });

  it('gives up with exit code 1 when no worker can start, instead of restarting forever', async () => {
    cluster = new Cluster('2', 'fail');
    expect(await cluster.exited).to.equal(1);
    // Both start at once; the first to fail stops the rest, and none is restarted.
    expect(cluster.lines.filter((l) => l.message === 'worker started').length).to.equal(2);
    expect(cluster.lines.filter((l) => l.message === 'restarting worker')).to.deep.equal([]);
  });
});
