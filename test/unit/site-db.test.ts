/**
 * What the DB keeps for the site by itself (migration 5): builds per node and
 * hour, and the schedule's versions, against the rows they summarise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import { SiteReader } from '../../db/site.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function tempDb(): FarmDb {
  const dir = mkdtempSync(join(tmpdir(), 'reprofarm-sitedb-'));
  dirs.push(dir);
  return openDb(join(dir, 'reproducible.db'));
}

describe('node build statistics', () => {
  it("equal counting the single builds themselves, at the windows' edges and after builds are deleted", () => {
    const db = tempDb();
    const asOf = '2026-11-20T10:17:31.250Z';
    const t = Date.parse(asOf);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const build = db.sql.prepare("INSERT INTO builds (suite, arch, package, version, status, build_date) VALUES ('sid', 'amd64', ?, '1', 'reproducible', ?)");
    const run = db.sql.prepare(
      "INSERT INTO build_runs (build_id, build_number, node, started_at, duration, exit_code, result, variations, not_applied) VALUES (?, ?, ?, ?, ?, 0, 'built', '{}', '{}')",
    );
    // around both windows' starts to the millisecond, and anywhere in 9 days
    const edges = [t - 86_400_000, t - 7 * 86_400_000];
    db.sql.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        const e = edges[i % 2] ?? t;
        const at = i % 3 === 0 ? e + rand(7_200_000) - 3_600_000 : i % 3 === 1 ? e + rand(3) - 1 : t - rand(9 * 86_400_000);
        const iso = new Date(at).toISOString();
        const id = Number(build.run(`p${i}`, iso).lastInsertRowid);
        run.run(id, 1, `node${rand(5)}`, iso, rand(1000) + 0.25);
        if (rand(2) === 0) run.run(id, 2, `node${rand(5)}`, iso, rand(1000));
      }
    })();
    db.sql.prepare('DELETE FROM builds WHERE id % 7 = 0').run();
    db.sql.prepare("UPDATE build_runs SET node = 'node9', duration = 3 WHERE build_id % 11 = 0").run();
    const day = new Date(t - 86_400_000).toISOString();
    const week = new Date(t - 7 * 86_400_000).toISOString();
    const want = db.sql
      .prepare(
        `SELECT node, SUM(started_at > ?) AS builds_24h, AVG(duration) AS avg_duration_7d, COUNT(*) AS builds_7d
      FROM build_runs WHERE started_at > ? GROUP BY node ORDER BY node`,
      )
      .all(day, week) as { node: string; builds_24h: number; avg_duration_7d: number; builds_7d: number }[];
    const got = new SiteReader(db).nodeBuildStats(asOf);
    expect(got.map((r) => [r.node, r.builds_24h, r.builds_7d])).toEqual(want.map((r) => [r.node, r.builds_24h, r.builds_7d]));
    for (const [i, r] of got.entries()) expect(r.avg_duration_7d).toBeCloseTo(want[i]?.avg_duration_7d ?? NaN, 6);
    expect(want.length).toBe(6);
    db.close();
  });
});

describe('schedule versions', () => {
  it('move with every insert, claim and delete of the suite/arch, and only that one', () => {
    const db = tempDb();
    const r = new SiteReader(db);
    const v = (): [string, number][] => [...r.scheduleVersions()].sort();
    const add = db.sql.prepare(`INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at)
      VALUES (?, ?, ?, '1', 0, 'new', 'test', '2026-11-20T10:00:00.000Z')`);
    add.run('sid', 'amd64', 'a');
    add.run('sid', 'arm64', 'a');
    const before = v();
    db.sql.prepare("UPDATE schedule SET claimed_by = 'j', claimed_at = '2026-11-20T10:01:00.000Z' WHERE arch = 'amd64'").run();
    const claimed = v();
    db.sql.prepare("DELETE FROM schedule WHERE arch = 'amd64'").run();
    const done = v();
    const amd64 = [before, claimed, done].map((x) => new Map(x).get('sid\0amd64') ?? 0);
    expect(amd64[1]).toBeGreaterThan(amd64[0] ?? 0);
    expect(amd64[2]).toBeGreaterThan(amd64[1] ?? 0);
    expect([before, claimed, done].map((x) => new Map(x).get('sid\0arm64'))).toEqual([1, 1, 1]);
    db.close();
  });
});

describe('the listing', () => {
  it("carries a depwait's unmet dependencies from its build, and none for other statuses", () => {
    const db = tempDb();
    const at = '2026-11-20T10:00:00.000Z';
    const src = db.sql.prepare(
      `INSERT INTO sources (suite, name, version, architecture, directory, dsc_name, dsc_sha256, dsc_size, first_seen, version_seen)
      VALUES ('sid', ?, '1', 'any', 'pool/main/x', 'x.dsc', '', 0, ?, ?)`,
    );
    const build = db.sql.prepare("INSERT INTO builds (suite, arch, package, version, status, build_date, unmet) VALUES ('sid', 'amd64', ?, '1', ?, ?, ?)");
    const result = db.sql.prepare("INSERT INTO results (suite, arch, package, version, status, build_date, build_id) VALUES ('sid', 'amd64', ?, '1', ?, ?, ?)");
    for (const [name, status, unmet] of [
      ['waits', 'depwait', 'libfoo-dev (>= 9)'],
      ['failed', 'FTBFS', 'stale text'],
      ['fresh', null, null],
    ] as const) {
      src.run(name, at, at);
      if (status) result.run(name, status, at, Number(build.run(name, status, at, unmet).lastInsertRowid));
    }
    const r = new SiteReader(db);
    const rows = r.listing('sid', 'amd64').map((x) => [x.package, x.status, x.unmet]);
    expect(rows).toEqual([
      ['failed', 'FTBFS', null],
      ['fresh', 'untested', null],
      ['waits', 'depwait', 'libfoo-dev (>= 9)'],
    ]);
    expect(r.listingOf('sid', 'amd64', ['waits']).map((x) => x.unmet)).toEqual(['libfoo-dev (>= 9)']);
    expect(r.packages('sid', 'amd64', ['waits'])[0]?.current?.unmet).toBe('libfoo-dev (>= 9)');
    db.close();
  });
});
