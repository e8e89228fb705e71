// Preloaded into a daemon the storm section starts with --expose-gc: on SIGUSR2 it runs full garbage
// collections and prints the heap that is still live as one JSON line on stderr. Until the signal it
// changes nothing, so the resident-memory figures taken before it are those of a plain daemon.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const { heapUsed, heapTotal, rss } = process.memoryUsage();
  process.stderr.write(`${JSON.stringify({ heapProbe: { heapUsed, heapTotal, rss } })}\n`);
});
