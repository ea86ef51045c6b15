/**
 * A claiming worker for race tests and benchmarks: claims entries for ARCH as
 * JOB until none is left, records each as reproducible, prints the claimed ids.
 * usage: node --import tsx test/helpers/claimer.ts DB ARCH JOB
 */
import { claimNext, recordResult } from '../../db/archive.js';
import { openDb } from '../../db/index.js';

const [file, arch, job] = process.argv.slice(2);
if (!file || !arch || !job) {
  console.error('usage: claimer.ts DB ARCH JOB');
  process.exit(64);
}
const db = openDb(file);
const ids: number[] = [];
for (;;) {
  const c = claimNext(db, arch, job);
  if (!c) break;
  recordResult(db, c, 'reproducible');
  ids.push(c.id);
}
db.close();
process.stdout.write(ids.map((i) => `${i}\n`).join(''));
