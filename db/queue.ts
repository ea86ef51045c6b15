/**
 * The schedule's claim lifecycle: take the next entry (one claimer wins it),
 * give it back (unclaim, requeue), count failed attempts, and end a claim
 * with its result. Every change is one synchronous BEGIN IMMEDIATE
 * transaction or one statement.
 */
import { ReprofarmError } from '../core/errors.js';
import type { Status } from '../core/statuses.js';
import type { Claim } from './archive.js';
import { stmt, type FarmDb } from './index.js';

/** What names a claim: the entry, its package version, its claimer. */
export type ClaimKey = Pick<Claim, 'id' | 'suite' | 'arch' | 'package' | 'version' | 'claimed_by'> & Partial<Claim>;

/**
 * A claim that is no longer ours when its result is recorded: cleanup gave it
 * back (its process looked gone, or it outlived both build timeouts) or
 * another claimer holds it now. Recording anyway would end someone else's
 * claim, so nothing is recorded.
 */
export class ClaimLostError extends ReprofarmError {
  override name = 'ClaimLostError';
  constructor(readonly claim: Pick<Claim, 'id' | 'package' | 'claimed_by'>) {
    super(`claim ${claim.id} of ${claim.package} is no longer held by ${claim.claimed_by}`, {
      advice:
        'another process gave this claim back or holds it now (reprofarm cleanup requeues a claim whose process is gone or that outlived both build timeouts): nothing was recorded, and the package is taken up at its next claim',
    });
  }
}

/**
 * Take the next waiting entry for an architecture: only one claimer can win it.
 * One statement sets the claimer (and the claiming process, for cleanup) and
 * returns all a build needs, the .dsc's path and SHA256 included. `suites`,
 * when given, restricts the claim to those suites (the chroot backend: the
 * suites both nodes have a chroot for; builder/chroot-suites.ts).
 */
export function claimNext(
  db: FarmDb,
  arch: string,
  job: string,
  now: Date = new Date(),
  owner?: { host: string; pid: number },
  suites?: readonly string[],
): Claim | undefined {
  if (suites?.length === 0) return undefined;
  const source = 'FROM sources s WHERE s.suite = schedule.suite AND s.name = schedule.package AND s.version = schedule.version';
  const claim = stmt(
    db,
    `UPDATE schedule SET claimed_by = @job, claimed_at = @now, claim_host = @host, claim_pid = @pid
    WHERE id = (SELECT id FROM schedule WHERE arch = @arch AND claimed_at IS NULL
        AND (@suites IS NULL OR suite IN (SELECT value FROM json_each(@suites)))
        -- a culprit search building it now would share its node's folders
        AND NOT EXISTS (SELECT 1 FROM culprit_searches c WHERE c.suite = schedule.suite AND c.arch = schedule.arch AND c.package = schedule.package AND c.claimed_at IS NOT NULL)
        ORDER BY priority DESC, scheduled_at, id LIMIT 1)
      AND claimed_at IS NULL
    RETURNING id, suite, arch, package, version, priority, reason, claimed_by, claimed_at,
      (SELECT s.directory || '/' || s.dsc_name ${source}) AS dsc_path, (SELECT s.dsc_sha256 ${source}) AS dsc_sha256`,
  );
  const params = { job, arch, now: now.toISOString(), host: owner?.host ?? null, pid: owner?.pid ?? null, suites: suites ? JSON.stringify(suites) : null };
  return db.sql.transaction(() => claim.get(params) as Claim | undefined).immediate();
}

/** SET clause that gives a schedule entry back: no claimer, no claim time, no claiming process. */
export const UNCLAIMED = 'claimed_by = NULL, claimed_at = NULL, claim_host = NULL, claim_pid = NULL';

/** Give a claim back to the schedule (the build did not happen). */
export function unclaim(db: FarmDb, id: number, job: string): boolean {
  return db.sql.prepare(`UPDATE schedule SET ${UNCLAIMED} WHERE id = ? AND claimed_by = ?`).run(id, job).changes === 1;
}

/** Record a claimed entry's result and take it off the schedule, in one transaction. */
export function recordResult(db: FarmDb, claim: Claim, status: Status, now: Date = new Date()): void {
  const sql = db.sql;
  const del = stmt(db, 'DELETE FROM schedule WHERE id = ? AND claimed_by = ?');
  const upsert = stmt(
    db,
    `INSERT INTO results (suite, arch, package, version, status, build_date) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (suite, arch, package) DO UPDATE SET version = excluded.version, status = excluded.status, build_date = excluded.build_date`,
  );
  sql
    .transaction(() => {
      if (del.run(claim.id, claim.claimed_by).changes !== 1) throw new ClaimLostError(claim);
      upsert.run(claim.suite, claim.arch, claim.package, claim.version, status, now.toISOString());
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
