/**
 * A claiming worker for race tests: claims entries for ARCH as JOB until none
 * is left, records each as reproducible, prints the claimed ids.
 * usage: node --import tsx test/helpers/claimer.ts DB ARCH JOB [GO_FILE]
 * With GO_FILE, it opens the DB, prints "ready" on stderr and starts claiming
 * only once GO_FILE exists, so that every worker starts at the same moment
 * whatever its start-up took. Between claims it pauses a millisecond, as a
 * real worker does (it builds), so the others meet the lock free.
 */
import { existsSync } from 'node:fs';
import { claimNext, recordResult } from '../../db/queue.js';
import { openDb } from '../../db/index.js';

const [file, arch, job, go] = process.argv.slice(2);
if (!file || !arch || !job) {
  console.error('usage: claimer.ts DB ARCH JOB [GO_FILE]');
  process.exit(64);
}
const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
const db = openDb(file);
if (go) {
  process.stderr.write('ready\n');
  const until = Date.now() + 60_000;
  while (!existsSync(go)) {
    if (Date.now() > until) {
      console.error(`claimer: ${go} did not appear within 60 s`);
      process.exit(65);
    }
    pause(2);
  }
}
const ids: number[] = [];
for (;;) {
  const c = claimNext(db, arch, job);
  if (!c) break;
  recordResult(db, c, 'reproducible');
  ids.push(c.id);
  pause(1);
}
db.close();
process.stdout.write(ids.map((i) => `${i}\n`).join(''));
