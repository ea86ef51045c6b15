/**
 * What issue 19 adds to the site benchmark's DB and configuration, on the
 * copy (the cached DB serves older reprofarms too):
 *
 * - maintainers: the real Maintainer and Uploaders fields of the Sources
 *   index (archive/maintainers.ts parses them, as sync does), in every suite;
 * - notes: a reproducible-notes checkout in notes_dir, about the size of
 *   Debian's (a note for one package in four, 300 issues), read on each render;
 * - package sets: three, of 100, 1,000 and 5,000 packages, from files.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMaintainers } from '../archive/maintainers.js';
import { openDb } from '../db/index.js';
import { fmt } from './lib.js';

const ISSUES = 300;

/** Each Sources stanza's name and people. */
function peopleOf(sources: string): Map<string, ReturnType<typeof parseMaintainers>['people']> {
  const out = new Map<string, ReturnType<typeof parseMaintainers>['people']>();
  for (const st of readFileSync(sources, 'utf8').split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(st)?.[1];
    if (!name) continue;
    const field = (k: string): string | undefined => new RegExp(`^${k}:\\s*(.*(?:\\n[ \\t].*)*)`, 'm').exec(st)?.[1]?.replace(/\n[ \t]+/g, ' ');
    out.set(name, parseMaintainers(field('Maintainer'), field('Uploaders')).people);
  }
  return out;
}

/** The real people of every source, in every suite the DB has it in; returns the rows written. */
export function addMaintainers(dbPath: string, sources: string): number {
  const t0 = performance.now();
  const people = peopleOf(sources);
  const d = openDb(dbPath);
  try {
    const n = d.sql.transaction(() => {
      const ins = d.sql.prepare('INSERT OR IGNORE INTO maintainers (suite, package, email, name, role) VALUES (?, ?, ?, ?, ?)');
      let rows = 0;
      for (const s of d.sql.prepare('SELECT suite, name FROM sources WHERE removed_at IS NULL').all() as { suite: string; name: string }[]) {
        for (const p of people.get(s.name) ?? []) rows += ins.run(s.suite, s.name, p.email, p.name, p.role).changes;
      }
      return rows;
    })();
    d.sql.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const emails = (d.sql.prepare('SELECT COUNT(DISTINCT email) AS n FROM maintainers').get() as { n: number }).n;
    console.log(`people  ${n} maintainer and uploader rows, ${emails} people, in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    return n;
  } finally {
    d.close();
  }
}

/** A stable pick of about one name in `every`. */
const pick = (name: string, every: number, salt: number): boolean => {
  let h = salt;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % every === 0;
};

/** Writes `<dir>/notes/` and `<dir>/sets/`; returns the configuration lines that use them. */
export async function writeNotesAndSets(dir: string, names: readonly string[]): Promise<string[]> {
  const notes = path.join(dir, 'notes');
  await fs.mkdir(notes, { recursive: true });
  const issue = (i: number): string => `bench_issue_${String(i).padStart(3, '0')}`;
  const issues = Array.from(
    { length: ISSUES },
    (_, i) => `${issue(i)}:\n  description: "kind ${i} of unreproducibility <b>as notes write it</b>"\n  url: https://example.org/${i}\n`,
  );
  await fs.writeFile(path.join(notes, 'issues.yml'), issues.join(''));
  const noted = names.filter((n) => pick(n, 4, 7));
  const packages = noted.map(
    (n, i) =>
      `${n}:\n  issues:\n    - ${issue(i % ISSUES)}\n    - ${issue((i * 7) % ISSUES)}\n  bugs:\n    - ${100000 + i}\n  comments: "a note of ${i}: <i>untrusted</i>"\n`,
  );
  await fs.writeFile(path.join(notes, 'packages.yml'), packages.join(''));
  const sets = path.join(dir, 'sets');
  await fs.mkdir(sets, { recursive: true });
  const lines = ['notes_dir: ./notes', 'package_sets:'];
  for (const [set, every] of [
    ['essential', 340],
    ['build-essential', 34],
    ['key-packages', 7],
  ] as const) {
    await fs.writeFile(path.join(sets, `${set}.txt`), `# bench set\n${names.filter((n) => pick(n, every, 13)).join('\n')}\n`);
    lines.push(`  ${set}: ./sets/${set}.txt`);
  }
  console.log(`notes   ${noted.length} package notes, ${ISSUES} issues; 3 package sets`);
  return lines;
}
