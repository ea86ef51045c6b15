/**
 * Culprit searches (tables culprit_searches and culprit_steps, migration 9):
 * one row per FTBR package, written with the FTBR's record (db/builds.ts, one
 * transaction), its follow-up builds claimed one step at a time by the job's
 * pair, each step and the plan's new state recorded together. A search's
 * claim and a schedule claim of the same package exclude each other (both
 * would build it on the same node): see claimNext and claimSearch.
 */
import type { Database } from 'better-sqlite3';
import type { Reference } from '../culprit/reference.js';
import type { StepKind, StepOutcome, Verdict } from '../culprit/search.js';
import { noteAttestation, type AttestationRecord } from './attestations.js';
import { stmt, type FarmDb } from './index.js';

type Key = { suite: string; arch: string; package: string };

/** What an FTBR's record starts: the hints' findings, the search's first plan, build 1's artifacts. */
export interface SearchStart {
  job: string;
  hints: unknown[];
  categories: unknown[];
  /** JSON of culprit/search.ts Plan */
  plan: string;
  reference: Reference;
  /** when the hints settle it (or nothing can be searched), the verdict now, with no follow-up build */
  verdict?: { verdict: Verdict['verdict']; culprits: string[]; source: 'hints' | 'search'; why: string };
}

export interface SearchRow {
  suite: string;
  arch: string;
  package: string;
  version: string;
  build_id: number;
  job: string;
  state: 'waiting' | 'done';
  verdict: Verdict['verdict'] | null;
  culprits: string;
  source: 'hints' | 'search' | null;
  why: string | null;
  hints: string;
  categories: string;
  plan: string;
  reference: string;
  builds: number;
  created_at: string;
  updated_at: string;
  claimed_by: string | null;
  claimed_at: string | null;
}

/** A claimed search step: the search, and the .dsc of its version (null when the version left the index). */
export interface SearchClaim extends SearchRow {
  claimed_by: string;
  claimed_at: string;
  dsc_path: string | null;
  dsc_sha256: string | null;
}

export interface StepRow {
  step: number;
  kind: StepKind;
  variations: string;
  node: string;
  started_at: string;
  duration: number;
  outcome: StepOutcome;
  reason: string | null;
}

/**
 * Inside recordBuild's transaction: an FTBR starts a search (a new version
 * starts afresh; the same version keeps what it has), any other result ends
 * the package's search.
 */
export function noteResult(sql: Database, c: Key & { version: string }, buildId: number, status: string, start: SearchStart | undefined, now: string): void {
  const cur = sql.prepare('SELECT version FROM culprit_searches WHERE suite = ? AND arch = ? AND package = ?').get(c.suite, c.arch, c.package) as
    { version: string } | undefined;
  if (status === 'FTBR' && start && cur?.version === c.version) return;
  if (cur) dropSearch(sql, c);
  if (status !== 'FTBR' || !start) return;
  const v = start.verdict;
  sql
    .prepare(
      `INSERT INTO culprit_searches (suite, arch, package, version, build_id, job, state, verdict, culprits, source, why, hints, categories, plan, reference, created_at, updated_at)
      VALUES (@suite, @arch, @package, @version, @buildId, @job, @state, @verdict, @culprits, @source, @why, @hints, @categories, @plan, @reference, @now, @now)`,
    )
    .run({
      suite: c.suite,
      arch: c.arch,
      package: c.package,
      version: c.version,
      buildId,
      job: start.job,
      state: v ? 'done' : 'waiting',
      verdict: v?.verdict ?? null,
      culprits: JSON.stringify(v?.culprits ?? []),
      source: v?.source ?? null,
      why: v?.why ?? null,
      hints: JSON.stringify(start.hints),
      categories: JSON.stringify(start.categories),
      plan: start.plan,
      reference: JSON.stringify(start.reference),
      now,
    });
}

function dropSearch(sql: Database, c: Key): void {
  sql.prepare('DELETE FROM culprit_steps WHERE suite = ? AND arch = ? AND package = ?').run(c.suite, c.arch, c.package);
  sql.prepare('DELETE FROM culprit_searches WHERE suite = ? AND arch = ? AND package = ?').run(c.suite, c.arch, c.package);
}

/** Follow-up builds started in the 24 hours before `now`, farm-wide. */
export function stepsToday(db: FarmDb, now: Date = new Date()): number {
  const since = new Date(now.getTime() - 86_400_000).toISOString();
  return (stmt(db, 'SELECT COUNT(*) AS n FROM culprit_steps WHERE started_at > ?').get(since) as { n: number }).n;
}

const CLAIMED = `RETURNING *,
  (SELECT s.directory || '/' || s.dsc_name FROM sources s WHERE s.suite = culprit_searches.suite AND s.name = culprit_searches.package AND s.version = culprit_searches.version) AS dsc_path,
  (SELECT s.dsc_sha256 FROM sources s WHERE s.suite = culprit_searches.suite AND s.name = culprit_searches.package AND s.version = culprit_searches.version) AS dsc_sha256`;

/**
 * Take a job's next waiting search step (the oldest search first), unless the
 * day's budget is spent or the package is being built from the schedule. One
 * claimer wins it. `key` takes that package's search whatever its job.
 */
export function claimSearch(
  db: FarmDb,
  job: string,
  arch: string,
  opts: { maxPerDay: number; now?: Date; owner?: { host: string; pid: number }; key?: Key },
): SearchClaim | undefined {
  const now = opts.now ?? new Date();
  const claim = stmt(
    db,
    `UPDATE culprit_searches SET claimed_by = @job, claimed_at = @now, claim_host = @host, claim_pid = @pid
    WHERE (suite, arch, package) = (SELECT c.suite, c.arch, c.package FROM culprit_searches c
        WHERE c.state = 'waiting' AND c.claimed_at IS NULL AND c.arch = @arch
          AND (@suite IS NULL AND c.job = @job OR c.suite = @suite AND c.package = @package)
          AND NOT EXISTS (SELECT 1 FROM schedule s WHERE s.suite = c.suite AND s.arch = c.arch AND s.package = c.package AND s.claimed_at IS NOT NULL)
        ORDER BY c.created_at, c.package LIMIT 1)
      AND claimed_at IS NULL
    ${CLAIMED}`,
  );
  const k = opts.key;
  const params = {
    job,
    arch,
    now: now.toISOString(),
    host: opts.owner?.host ?? null,
    pid: opts.owner?.pid ?? null,
    suite: k?.suite ?? null,
    package: k?.package ?? null,
  };
  return db.sql
    .transaction(() => {
      if (!k && stepsToday(db, now) >= opts.maxPerDay) return undefined;
      return claim.get(params) as SearchClaim | undefined;
    })
    .immediate();
}

/** Give a search step back: it was not built (a node unreachable, stopped). */
export function releaseSearch(db: FarmDb, c: Key, job: string): void {
  stmt(
    db,
    'UPDATE culprit_searches SET claimed_by = NULL, claimed_at = NULL, claim_host = NULL, claim_pid = NULL WHERE suite = ? AND arch = ? AND package = ? AND claimed_by = ?',
  ).run(c.suite, c.arch, c.package, job);
}

/**
 * A step's build and the plan it led to, in one transaction; with a verdict the search is done, and the
 * verdict's attestation (attest/record.ts attestVerdict) is stored with it. The claim ends.
 */
export function recordStep(
  db: FarmDb,
  c: Key & { version: string; claimed_by: string },
  step: Omit<StepRow, 'step'> | undefined,
  plan: string,
  verdict: { verdict: Verdict['verdict']; culprits: string[]; why: string } | undefined,
  now: Date = new Date(),
  attestation?: AttestationRecord,
): void {
  db.sql
    .transaction(() => {
      const row = stmt(db, 'SELECT builds, build_id FROM culprit_searches WHERE suite = ? AND arch = ? AND package = ? AND version = ? AND claimed_by = ?').get(
        c.suite,
        c.arch,
        c.package,
        c.version,
        c.claimed_by,
      ) as { builds: number; build_id: number } | undefined;
      // the package moved on (a new version, another result) while the step ran: nothing to record
      if (!row) return;
      const builds = row.builds + (step ? 1 : 0);
      if (step) {
        stmt(
          db,
          `INSERT INTO culprit_steps (suite, arch, package, version, step, kind, variations, node, started_at, duration, outcome, reason)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(c.suite, c.arch, c.package, c.version, builds, step.kind, step.variations, step.node, step.started_at, step.duration, step.outcome, step.reason);
      }
      stmt(
        db,
        `UPDATE culprit_searches SET plan = @plan, builds = @builds, updated_at = @now, claimed_by = NULL, claimed_at = NULL, claim_host = NULL, claim_pid = NULL,
          state = CASE WHEN @verdict IS NULL THEN 'waiting' ELSE 'done' END, verdict = @verdict, culprits = @culprits,
          source = CASE WHEN @verdict IS NULL THEN source ELSE 'search' END, why = @why
        WHERE suite = @suite AND arch = @arch AND package = @package`,
      ).run({
        plan,
        builds,
        now: now.toISOString(),
        verdict: verdict?.verdict ?? null,
        culprits: JSON.stringify(verdict?.culprits ?? []),
        why: verdict?.why ?? null,
        suite: c.suite,
        arch: c.arch,
        package: c.package,
      });
      if (verdict && attestation) noteAttestation(db.sql, c, row.build_id, attestation);
    })
    .immediate();
}

/** Start a package's search again from a new plan (reprofarm culprit): its steps are dropped, its hints kept. */
export function restartSearch(db: FarmDb, c: Key, plan: string, now: Date = new Date()): boolean {
  return db.sql
    .transaction(() => {
      const r = stmt(
        db,
        `UPDATE culprit_searches SET state = 'waiting', verdict = NULL, culprits = '[]', source = NULL, why = NULL, plan = ?, builds = 0, updated_at = ?
        WHERE suite = ? AND arch = ? AND package = ? AND claimed_at IS NULL`,
      ).run(plan, now.toISOString(), c.suite, c.arch, c.package);
      if (r.changes === 1) stmt(db, 'DELETE FROM culprit_steps WHERE suite = ? AND arch = ? AND package = ?').run(c.suite, c.arch, c.package);
      return r.changes === 1;
    })
    .immediate();
}

export function searchOf(db: FarmDb, c: Key): SearchRow | undefined {
  return stmt(db, 'SELECT * FROM culprit_searches WHERE suite = ? AND arch = ? AND package = ?').get(c.suite, c.arch, c.package) as SearchRow | undefined;
}

export function stepsOf(db: FarmDb, c: Key): StepRow[] {
  return stmt(
    db,
    'SELECT step, kind, variations, node, started_at, duration, outcome, reason FROM culprit_steps WHERE suite = ? AND arch = ? AND package = ? ORDER BY step',
  ).all(c.suite, c.arch, c.package) as StepRow[];
}

/** Searches whose step is claimed now, as cleanup sees claims (id 0: no schedule entry). */
export function claimedSearches(
  db: FarmDb,
): Array<SearchClaim & { id: number; priority: number; reason: string; claim_host: string | null; claim_pid: number | null }> {
  return stmt(
    db,
    `SELECT 0 AS id, suite, arch, package, version, 0 AS priority, 'culprit search' AS reason, job, claimed_by, claimed_at, claim_host, claim_pid,
      NULL AS dsc_path, NULL AS dsc_sha256 FROM culprit_searches WHERE claimed_at IS NOT NULL ORDER BY claimed_at`,
  ).all() as Array<SearchClaim & { id: number; priority: number; reason: string; claim_host: string | null; claim_pid: number | null }>;
}
