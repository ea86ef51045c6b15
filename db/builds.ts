/** Recording builds: the current result, one history row per pair, one row per single build. One transaction. */
import type { Status } from '../core/statuses.js';
import { ClaimLostError, UNCLAIMED, type Claim } from './archive.js';

/** What names a claim: the entry, its package version, its claimer. */
export type ClaimKey = Pick<Claim, 'id' | 'suite' | 'arch' | 'package' | 'version' | 'claimed_by'> & Partial<Claim>;
import type { FarmDb } from './index.js';

export interface BuildRunRecord {
  buildNumber: 1 | 2;
  node: string;
  startedAt: string;
  durationS: number;
  exitCode: number | null;
  result: string;
  variations: Record<string, string>;
  notApplied: Record<string, string>;
}

export interface PairRecord {
  status: Status;
  job: string;
  node1: string;
  node2: string;
  durationS: number;
  reason: string | null;
  report: string | null;
  runs: BuildRunRecord[];
  /** recorded because its builds failed build.max_attempts times for one reason: the scheduler leaves it alone */
  gaveUp?: boolean;
}

/** Record a claimed package's outcome and end the claim. Returns the builds row id. */
export function recordBuild(db: FarmDb, claim: ClaimKey, rec: PairRecord, now: Date = new Date()): number {
  const sql = db.sql;
  const date = now.toISOString();
  return sql
    .transaction(() => {
      const del = sql.prepare('DELETE FROM schedule WHERE id = ? AND claimed_by = ?').run(claim.id, claim.claimed_by);
      if (del.changes !== 1) throw new ClaimLostError(claim);
      const id = Number(
        sql
          .prepare(
            `INSERT INTO builds (suite, arch, package, version, status, build_date, job, node1, node2, duration, reason, report)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(claim.suite, claim.arch, claim.package, claim.version, rec.status, date, rec.job, rec.node1, rec.node2, rec.durationS, rec.reason, rec.report)
          .lastInsertRowid,
      );
      const run = sql.prepare(`INSERT INTO build_runs (build_id, build_number, node, started_at, duration, exit_code, result, variations, not_applied)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const r of rec.runs)
        run.run(id, r.buildNumber, r.node, r.startedAt, r.durationS, r.exitCode, r.result, JSON.stringify(r.variations), JSON.stringify(r.notApplied));
      sql
        .prepare(
          `INSERT INTO results (suite, arch, package, version, status, build_date, node1, node2, job, build_duration, build_id)
      VALUES (@suite, @arch, @package, @version, @status, @date, @node1, @node2, @job, @duration, @id)
      ON CONFLICT (suite, arch, package) DO UPDATE SET version = excluded.version, status = excluded.status, build_date = excluded.build_date,
        node1 = excluded.node1, node2 = excluded.node2, job = excluded.job, build_duration = excluded.build_duration, build_id = excluded.build_id`,
        )
        .run({
          suite: claim.suite,
          arch: claim.arch,
          package: claim.package,
          version: claim.version,
          status: rec.status,
          date,
          node1: rec.node1,
          node2: rec.node2,
          job: rec.job,
          duration: rec.durationS,
          id,
        });
      // a result ends the count of failed attempts; one recorded because of them keeps it, marked
      if (rec.gaveUp)
        sql.prepare('UPDATE build_attempts SET gave_up = 1 WHERE suite = ? AND arch = ? AND package = ?').run(claim.suite, claim.arch, claim.package);
      else sql.prepare('DELETE FROM build_attempts WHERE suite = ? AND arch = ? AND package = ?').run(claim.suite, claim.arch, claim.package);
      return id;
    })
    .immediate();
}

/**
 * Count a failed attempt at building a claimed package version, of one kind
 * (what failed): consecutive failures of the same kind add up, another kind or
 * another version starts again at 1. Returns the count.
 */
export function noteFailedAttempt(db: FarmDb, claim: ClaimKey, kind: string, reason: string, now: Date = new Date()): number {
  const row = db.sql
    .prepare(
      `INSERT INTO build_attempts (suite, arch, package, version, kind, failures, reason, last_at, gave_up)
    VALUES (@suite, @arch, @package, @version, @kind, 1, @reason, @now, 0)
    ON CONFLICT (suite, arch, package) DO UPDATE SET
      failures = CASE WHEN version = excluded.version AND kind = excluded.kind THEN failures + 1 ELSE 1 END,
      version = excluded.version, kind = excluded.kind, reason = excluded.reason, last_at = excluded.last_at, gave_up = 0
    RETURNING failures`,
    )
    .get({ suite: claim.suite, arch: claim.arch, package: claim.package, version: claim.version, kind, reason, now: now.toISOString() }) as {
    failures: number;
  };
  return row.failures;
}

export interface StaleClaim extends Claim {
  claim_host: string | null;
  claim_pid: number | null;
}

export function claimedEntries(db: FarmDb): StaleClaim[] {
  return db.sql
    .prepare(
      `SELECT id, suite, arch, package, version, priority, reason, claimed_by, claimed_at, claim_host, claim_pid
    FROM schedule WHERE claimed_at IS NOT NULL ORDER BY claimed_at`,
    )
    .all() as StaleClaim[];
}

/**
 * Give back a claim whose build failed for a reason other than being stopped
 * (a node unusable, results rejected...): it waits again with its priority but
 * behind the entries already waiting at that priority, so that a package whose
 * builds keep failing (or that poisons its own results) cannot hold a pair.
 */
export function requeueBehind(db: FarmDb, id: number, now: Date = new Date()): boolean {
  return db.sql.prepare(`UPDATE schedule SET ${UNCLAIMED}, scheduled_at = ? WHERE id = ?`).run(now.toISOString(), id).changes === 1;
}

/** Give back claims (requeue): they wait again, with their priority and their place. */
export function requeue(db: FarmDb, ids: readonly number[]): number {
  const stmt = db.sql.prepare(`UPDATE schedule SET ${UNCLAIMED} WHERE id = ?`);
  return db.sql.transaction(() => ids.reduce((n, id) => n + stmt.run(id).changes, 0)).immediate();
}

/** The result directories each package's current result came from: (node, suite, arch, package, version). */
export function currentResultDirs(db: FarmDb): Array<{ node: string; suite: string; arch: string; package: string; version: string }> {
  return db.sql
    .prepare(
      `
    SELECT node1 AS node, suite, arch, package, version FROM results WHERE node1 IS NOT NULL
    UNION SELECT node2, suite, arch, package, version FROM results WHERE node2 IS NOT NULL`,
    )
    .all() as Array<{ node: string; suite: string; arch: string; package: string; version: string }>;
}
