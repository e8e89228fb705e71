// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package/file.
// Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top=25]
import { readFile } from 'node:fs/promises';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
// Idle time is the process waiting for the load generator: left out, so percentages are of busy time.
const idleUs = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0) - idleUs;

const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') continue;
  const where = area(frame.url);
  const key = label(frame);
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byArea.set(where, (byArea.get(where) ?? 0) + us);
}

/** A function as listed: name, then package or file and line. */
function label({ functionName, url, lineNumber }: CallFrame): string {
  return `${functionName || '(anonymous)'}  ${area(url)}${url ? `:${lineNumber + 1}` : ''}`;
}

// Inclusive time of the project's own functions (self plus everything they called), each counted once per stack.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
  const seen = new Set<string>();
  for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
    const frame = byId.get(node)!.callFrame;
    if (!/\/(dist|src)\//.test(frame.url) || /node_modules/.test(frame.url)) continue;
    const key = label(frame);
    if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    seen.add(key);
  }
}

/** Groups a script URL by npm package, project file, or node internal. */
function area(url: string): string {
  if (!url) return '(native/vm)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return url;
  const own = /\/(dist|src)\/(.+)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

const print = (title: string, rows: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}\n`);
  }
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s busy, ${(idleUs / 1e6).toFixed(1)} s idle; percentages of busy time\n`);
print('self time by package / file', byArea);
print('self time by function', byFunction);
print('total time (self + callees) of the project\'s own functions', inclusive);
