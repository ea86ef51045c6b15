// The file system's floor under a site render (docs/benchmarks.md, `site`): N files of SIZE
// bytes, each written to a temporary name and renamed into one of DIRS folders under ROOT (the
// render's own scheme), by THREADS worker threads, with no rendering at all.
//
//   node bench/fs-floor.mjs N SIZE DIRS THREADS ROOT
//
// ROOT is removed first and left filled: remove it when done (freeing it is slow too).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, Worker, workerData } from 'node:worker_threads';

const [n, size, dirs, threads] = process.argv.slice(2, 6).map(Number);
const root = process.argv[6];
if (!root || ![n, size, dirs, threads].every((x) => Number.isInteger(x) && x > 0)) {
  console.error('usage: node bench/fs-floor.mjs N SIZE DIRS THREADS ROOT (positive integers, then a folder to fill)');
  process.exit(2);
}

if (isMainThread) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  const t0 = performance.now();
  let left = threads;
  for (let w = 0; w < threads; w++) {
    new Worker(new URL(import.meta.url), { argv: process.argv.slice(2), workerData: w }).on('exit', () => {
      if (--left > 0) return;
      const s = (performance.now() - t0) / 1000;
      console.log(`${n} files of ${size} B in ${dirs} folders, ${threads} threads: ${s.toFixed(1)} s, ${Math.round(n / s)} files/s`);
    });
  }
} else {
  const w = Number(workerData);
  const buf = Buffer.alloc(size, 120);
  const tmp = join(root, `.tmp-${w}`);
  mkdirSync(tmp);
  for (let d = w; d < dirs; d += threads) mkdirSync(join(root, `d${d}`));
  for (let i = w; i < n; i += threads) {
    const t = join(tmp, `t${i}`);
    writeFileSync(t, buf);
    renameSync(t, join(root, `d${i % dirs}`, `f${i}.html`));
  }
}
