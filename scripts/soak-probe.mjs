// Loaded into the soak's server child (`node --expose-gc --import ./scripts/soak-probe.mjs`,
// see scripts/soak-run.ts): on SIGUSR2 a full garbage collection, then (a moment later, once
// freed pages are returned) one line on stderr with process.memoryUsage(), so the soak reads
// what the server retains (heapUsed after GC) and its resident set at the same point of the
// GC cycle each time. With TEEIO_SOAK_HEAP_SNAPSHOTS=DIR each probe also writes a heap
// snapshot there, to compare retained objects over a run (the RSS figures then include the
// snapshots' own memory). The signal listener does not keep the process alive.
import { writeHeapSnapshot } from 'node:v8';

let n = 0;
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const dir = process.env.TEEIO_SOAK_HEAP_SNAPSHOTS;
  if (dir) writeHeapSnapshot(`${dir}/server-${String(n++).padStart(3, '0')}.heapsnapshot`);
  setTimeout(() => {
    process.stderr.write(`soak-probe ${JSON.stringify(process.memoryUsage())}\n`);
  }, 200).unref();
});
