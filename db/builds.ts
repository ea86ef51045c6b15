/** Recording builds: the current result, one history row per pair, one row per single build. One transaction. */
import type { Status } from '../core/statuses.js';
import { noteAttestation, type AttestationRecord } from './attestations.js';
import { noteResult, type SearchStart } from './culprits.js';
import type { FarmDb } from './index.js';
import { noteStatusChange } from './notify.js';
import { ClaimLostError, type ClaimKey } from './queue.js';

export interface BuildRunRecord {
  buildNumber: 1 | 2;
  node: string;
  startedAt: string;
  durationS: number;
  exitCode: number | null;
  result: string;
  variations: Record<string, string>;
  notApplied: Record<string, string>;
  /** the .deb/.udeb/.ddeb files fetched from the node, with the SHA256 the main node computed (for the attestation) */
  artifacts?: Array<{ name: string; sha256: string }>;
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
  /** a depwait's unsatisfiable build dependencies, as apt named them */
  unmet?: string | null;
  /** recorded because its builds failed build.max_attempts times for one reason: the scheduler leaves it alone */
  gaveUp?: boolean;
  /** an FTBR's culprit search: what the hints found, and what is left to search */
  culprit?: SearchStart;
}

/** Record a claimed package's outcome and end the claim, with its signed attestation when the farm has a key. Returns the builds row id. */
export function recordBuild(db: FarmDb, claim: ClaimKey, rec: PairRecord, now: Date = new Date(), attestation?: AttestationRecord): number {
  const sql = db.sql;
  const date = now.toISOString();
  return sql
    .transaction(() => {
      const del = sql.prepare('DELETE FROM schedule WHERE id = ? AND claimed_by = ?').run(claim.id, claim.claimed_by);
      if (del.changes !== 1) throw new ClaimLostError(claim);
      const id = Number(
        sql
          .prepare(
            `INSERT INTO builds (suite, arch, package, version, status, build_date, job, node1, node2, duration, reason, report, unmet)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            claim.suite,
            claim.arch,
            claim.package,
            claim.version,
            rec.status,
            date,
            rec.job,
            rec.node1,
            rec.node2,
            rec.durationS,
            rec.reason,
            rec.report,
            rec.unmet ?? null,
          ).lastInsertRowid,
      );
      const run = sql.prepare(`INSERT INTO build_runs (build_id, build_number, node, started_at, duration, exit_code, result, variations, not_applied)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const r of rec.runs)
        run.run(id, r.buildNumber, r.node, r.startedAt, r.durationS, r.exitCode, r.result, JSON.stringify(r.variations), JSON.stringify(r.notApplied));
      // a status change is an event in the notification outbox, written with the result it reports
      noteStatusChange(sql, claim, rec.status, id, date);
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
      noteResult(sql, claim, id, rec.status, rec.culprit, date);
      if (attestation) noteAttestation(sql, claim, id, attestation);
      // a result ends the count of failed attempts; one recorded because of them keeps it, marked
      if (rec.gaveUp)
        sql.prepare('UPDATE build_attempts SET gave_up = 1 WHERE suite = ? AND arch = ? AND package = ?').run(claim.suite, claim.arch, claim.package);
      else sql.prepare('DELETE FROM build_attempts WHERE suite = ? AND arch = ? AND package = ?').run(claim.suite, claim.arch, claim.package);
      return id;
    })
    .immediate();
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
