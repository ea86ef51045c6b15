/**
 * Typed queries for sources, results and filling the schedule. Every
 * multi-statement change is one synchronous transaction (BEGIN IMMEDIATE), so
 * a sync or a schedule request is all-or-nothing. Claims: queue.ts.
 */
import { ReprofarmError } from '../core/errors.js';
import type { MaintainerInput } from '../archive/maintainers.js';
import { stmt, type FarmDb } from './index.js';
import { syncMaintainers } from './maintainers.js';

export interface SourceRow {
  suite: string;
  name: string;
  version: string;
  architecture: string;
  directory: string;
  dsc_name: string;
  dsc_sha256: string;
  dsc_size: number;
  first_seen: string;
  version_seen: string;
  removed_at: string | null;
}

export interface SourceInput {
  name: string;
  version: string;
  architecture: string;
  directory: string;
  dscName: string;
  dscSha256: string;
  dscSize: number;
  /** its Maintainer and Uploaders (absent: not parsed, the rows stay as they are) */
  maintainers?: readonly MaintainerInput[];
}

export interface SchedulePolicy {
  maxPerArch: number;
  minAgeDays: number;
  retryFailedDays: number;
}

export const PRIORITY = { untested: 40, newVersion: 30, retryFailed: 20, old: 10 } as const;

export interface ArchSyncSummary {
  arch: string;
  nfu: number;
  blacklisted: number;
  scheduled: { untested: number; newVersion: number; retryFailed: number; old: number };
}

export interface SuiteSyncSummary {
  suite: string;
  total: number;
  added: number;
  newVersions: number;
  removed: number;
  unchanged: number;
  arches: ArchSyncSummary[];
}

export interface Claim {
  id: number;
  suite: string;
  arch: string;
  package: string;
  version: string;
  priority: number;
  reason: string;
  claimed_by: string;
  claimed_at: string;
  /** the .dsc's path on the mirror and its SHA256 from the Sources index; null when that version left the index */
  dsc_path: string | null;
  dsc_sha256: string | null;
}

const SPECIAL = new Set(['NFU', 'blacklisted']);

/**
 * Record a suite's sources and, per architecture, what does not apply (NFU),
 * what is blacklisted, and fill the schedule by policy: one transaction.
 * `appliesTo(entry, arch)` decides architecture applicability.
 */
export function applySources(
  db: FarmDb,
  suite: string,
  arches: readonly string[],
  entries: ReadonlyMap<string, SourceInput>,
  opts: {
    now: Date;
    blacklist: ReadonlySet<string>;
    policy: SchedulePolicy;
    appliesTo: (architecture: string, arch: string) => boolean;
    /** remembered so that an unchanged index is not parsed again */
    state?: SyncState;
  },
): SuiteSyncSummary {
  const sql = db.sql;
  const now = opts.now.toISOString();
  const summary: SuiteSyncSummary = { suite, total: entries.size, added: 0, newVersions: 0, removed: 0, unchanged: 0, arches: [] };
  const insert =
    sql.prepare(`INSERT INTO sources (suite, name, version, architecture, directory, dsc_name, dsc_sha256, dsc_size, first_seen, version_seen, removed_at)
    VALUES (@suite, @name, @version, @architecture, @directory, @dscName, @dscSha256, @dscSize, @now, @now, NULL)`);
  const update = sql.prepare(`UPDATE sources SET version = @version, architecture = @architecture, directory = @directory,
    dsc_name = @dscName, dsc_sha256 = @dscSha256, dsc_size = @dscSize,
    version_seen = CASE WHEN version = @version AND removed_at IS NULL THEN version_seen ELSE @now END,
    removed_at = NULL WHERE suite = @suite AND name = @name`);
  const markRemoved = sql.prepare('UPDATE sources SET removed_at = ? WHERE suite = ? AND name = ?');
  const unscheduleAll = sql.prepare('DELETE FROM schedule WHERE suite = ? AND package = ? AND claimed_at IS NULL');
  const unschedule = sql.prepare('DELETE FROM schedule WHERE suite = ? AND arch = ? AND package = ? AND claimed_at IS NULL');
  const upsertResult = sql.prepare(`INSERT INTO results (suite, arch, package, version, status, build_date) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (suite, arch, package) DO UPDATE SET version = excluded.version, status = excluded.status, build_date = excluded.build_date`);
  const deleteResult = sql.prepare('DELETE FROM results WHERE suite = ? AND arch = ? AND package = ?');

  sql
    .transaction(() => {
      const existing = new Map<string, { version: string; architecture: string; directory: string; dsc_sha256: string; removed_at: string | null }>();
      for (const r of sql
        .prepare('SELECT name, version, architecture, directory, dsc_sha256, removed_at FROM sources WHERE suite = ?')
        .iterate(suite) as Iterable<SourceRow>) {
        existing.set(r.name, r);
      }
      for (const e of entries.values()) {
        const old = existing.get(e.name);
        const params = {
          suite,
          now,
          name: e.name,
          version: e.version,
          architecture: e.architecture,
          directory: e.directory,
          dscName: e.dscName,
          dscSha256: e.dscSha256,
          dscSize: e.dscSize,
        };
        if (!old) {
          insert.run(params);
          summary.added++;
        } else if (
          old.version !== e.version ||
          old.removed_at !== null ||
          old.dsc_sha256 !== e.dscSha256 ||
          old.architecture !== e.architecture ||
          old.directory !== e.directory
        ) {
          if (old.version !== e.version || old.removed_at !== null) summary.newVersions++;
          else summary.unchanged++;
          update.run(params);
        } else {
          summary.unchanged++;
        }
      }
      for (const [name, old] of existing) {
        if (!entries.has(name) && old.removed_at === null) {
          markRemoved.run(now, suite, name);
          unscheduleAll.run(suite, name);
          summary.removed++;
        }
      }
      syncMaintainers(db, suite, entries);
      for (const arch of arches) {
        const special = new Map<string, { status: string; version: string }>();
        for (const r of sql
          .prepare("SELECT package, status, version FROM results WHERE suite = ? AND arch = ? AND status IN ('NFU', 'blacklisted')")
          .iterate(suite, arch) as Iterable<{ package: string; status: string; version: string }>) {
          special.set(r.package, r);
        }
        const a: ArchSyncSummary = { arch, nfu: 0, blacklisted: 0, scheduled: { untested: 0, newVersion: 0, retryFailed: 0, old: 0 } };
        for (const e of entries.values()) {
          const target = opts.blacklist.has(e.name) ? 'blacklisted' : opts.appliesTo(e.architecture, arch) ? undefined : 'NFU';
          const cur = special.get(e.name);
          if (target) {
            if (target === 'NFU') a.nfu++;
            else a.blacklisted++;
            if (!cur || cur.status !== target || cur.version !== e.version) {
              upsertResult.run(suite, arch, e.name, e.version, target, now);
              unschedule.run(suite, arch, e.name);
            }
          } else if (cur && SPECIAL.has(cur.status)) {
            // applies again (new Architecture, or taken off the blacklist): untested from now on
            deleteResult.run(suite, arch, e.name);
          }
        }
        a.scheduled = fillSchedule(db, suite, arch, opts.policy, opts.now);
        summary.arches.push(a);
      }
      if (opts.state) saveSyncState(db, suite, opts.state, now);
    })
    .immediate();
  return summary;
}

/** The newest Release date synced for a suite, and from which mirror. */
export function releaseSeen(db: FarmDb, suite: string): { mirror: string; date: string } | undefined {
  const r = db.sql.prepare('SELECT mirror, release_date FROM release_seen WHERE suite = ?').get(suite) as { mirror: string; release_date: string } | undefined;
  return r && { mirror: r.mirror, date: r.release_date };
}

/** After a sync: remember its Release date (the newer one; any date when the mirror changed). */
export function noteReleaseSeen(db: FarmDb, suite: string, mirror: string, date: Date): void {
  db.sql
    .prepare(
      `INSERT INTO release_seen (suite, mirror, release_date) VALUES (?, ?, ?)
    ON CONFLICT (suite) DO UPDATE SET release_date = CASE WHEN mirror <> excluded.mirror OR excluded.release_date > release_date
      THEN excluded.release_date ELSE release_date END, mirror = excluded.mirror`,
    )
    .run(suite, mirror, date.toISOString());
}

export interface SyncState {
  sourcesFile: string;
  sourcesSha256: string;
  settingsHash: string;
}

export function syncState(db: FarmDb, suite: string): SyncState | undefined {
  const r = db.sql.prepare('SELECT sources_file, sources_sha256, settings_hash FROM sync_state WHERE suite = ?').get(suite) as
    { sources_file: string; sources_sha256: string; settings_hash: string } | undefined;
  return r && { sourcesFile: r.sources_file, sourcesSha256: r.sources_sha256, settingsHash: r.settings_hash };
}

function saveSyncState(db: FarmDb, suite: string, s: SyncState, now: string): void {
  db.sql
    .prepare(
      `INSERT INTO sync_state (suite, sources_file, sources_sha256, settings_hash, synced_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (suite) DO UPDATE SET sources_file = excluded.sources_file, sources_sha256 = excluded.sources_sha256,
      settings_hash = excluded.settings_hash, synced_at = excluded.synced_at`,
    )
    .run(suite, s.sourcesFile, s.sourcesSha256, s.settingsHash, now);
}

/** The index did not change since the last sync: only time-based scheduling has work to do. One transaction. */
export function refillSchedule(db: FarmDb, suite: string, arches: readonly string[], policy: SchedulePolicy, now: Date): SuiteSyncSummary {
  const sql = db.sql;
  return sql
    .transaction(() => {
      const total = (sql.prepare('SELECT COUNT(*) AS n FROM sources WHERE suite = ? AND removed_at IS NULL').get(suite) as { n: number }).n;
      const summary: SuiteSyncSummary = { suite, total, added: 0, newVersions: 0, removed: 0, unchanged: total, arches: [] };
      for (const arch of arches) {
        const counts = Object.fromEntries(
          (
            sql
              .prepare(
                `SELECT r.status, COUNT(*) AS n FROM results r JOIN sources s ON s.suite = r.suite AND s.name = r.package AND s.removed_at IS NULL
        WHERE r.suite = ? AND r.arch = ? AND r.status IN ('NFU', 'blacklisted') GROUP BY r.status`,
              )
              .all(suite, arch) as { status: string; n: number }[]
          ).map((r) => [r.status, r.n]),
        );
        summary.arches.push({ arch, nfu: counts.NFU ?? 0, blacklisted: counts.blacklisted ?? 0, scheduled: fillSchedule(db, suite, arch, policy, now) });
      }
      return summary;
    })
    .immediate();
}

/** Fill a suite/arch schedule up to the policy's maximum, tier by tier. Call inside a transaction. */
export function fillSchedule(db: FarmDb, suite: string, arch: string, policy: SchedulePolicy, now: Date): ArchSyncSummary['scheduled'] {
  const sql = db.sql;
  const out = { untested: 0, newVersion: 0, retryFailed: 0, old: 0 };
  const count = (sql.prepare('SELECT COUNT(*) AS n FROM schedule WHERE suite = ? AND arch = ?').get(suite, arch) as { n: number }).n;
  let free = policy.maxPerArch - count;
  if (free <= 0) return out;
  const nowIso = now.toISOString();
  const notScheduled = 'NOT EXISTS (SELECT 1 FROM schedule q WHERE q.suite = s.suite AND q.arch = @arch AND q.package = s.name)';
  // a version recorded after build.max_attempts failures is retried only when asked for (or a new version comes)
  const notGivenUp = `NOT EXISTS (SELECT 1 FROM build_attempts a WHERE a.suite = s.suite AND a.arch = @arch AND a.package = s.name
    AND a.version = s.version AND a.gave_up = 1)`;
  const tiers: Array<[keyof typeof out, number, string, string]> = [
    [
      'untested',
      PRIORITY.untested,
      'never tested',
      `SELECT s.name, s.version FROM sources s
      WHERE s.suite = @suite AND s.removed_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM results r WHERE r.suite = s.suite AND r.arch = @arch AND r.package = s.name)
        AND ${notScheduled} ORDER BY s.first_seen, s.name LIMIT @n`,
    ],
    [
      'newVersion',
      PRIORITY.newVersion,
      'new version',
      `SELECT s.name, s.version FROM sources s
      JOIN results r ON r.suite = s.suite AND r.arch = @arch AND r.package = s.name
      WHERE s.suite = @suite AND s.removed_at IS NULL AND r.status NOT IN ('NFU', 'blacklisted') AND r.version <> s.version
        AND ${notScheduled} ORDER BY s.version_seen, s.name LIMIT @n`,
    ],
    [
      'retryFailed',
      PRIORITY.retryFailed,
      'retry FTBFS/depwait',
      `SELECT s.name, s.version FROM sources s
      JOIN results r ON r.suite = s.suite AND r.arch = @arch AND r.package = s.name
      WHERE s.suite = @suite AND s.removed_at IS NULL AND r.status IN ('FTBFS', 'depwait') AND r.build_date < @failedBefore
        AND ${notScheduled} AND ${notGivenUp} ORDER BY r.build_date, s.name LIMIT @n`,
    ],
    [
      'old',
      PRIORITY.old,
      'oldest result',
      `SELECT s.name, s.version FROM sources s
      JOIN results r ON r.suite = s.suite AND r.arch = @arch AND r.package = s.name
      WHERE s.suite = @suite AND s.removed_at IS NULL AND r.status NOT IN ('NFU', 'blacklisted') AND r.build_date < @oldBefore
        AND ${notScheduled} AND ${notGivenUp} ORDER BY r.build_date, s.name LIMIT @n`,
    ],
  ];
  const insert = sql.prepare(`INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at)
    VALUES (?, ?, ?, ?, ?, ?, 'scheduler', ?)`);
  const failedBefore = new Date(now.getTime() - policy.retryFailedDays * 86400_000).toISOString();
  const oldBefore = new Date(now.getTime() - policy.minAgeDays * 86400_000).toISOString();
  for (const [tier, priority, reason, query] of tiers) {
    if (free <= 0) break;
    const rows = sql.prepare(query).all({ suite, arch, n: free, failedBefore, oldBefore }) as { name: string; version: string }[];
    for (const r of rows) insert.run(suite, arch, r.name, r.version, priority, reason, nowIso);
    out[tier] = rows.length;
    free -= rows.length;
  }
  return out;
}

/** A source package's entry in a suite (removed or not), or undefined. */
export function sourceEntry(db: FarmDb, suite: string, name: string): { version: string; architecture: string; removed_at: string | null } | undefined {
  return stmt(db, 'SELECT version, architecture, removed_at FROM sources WHERE suite = ? AND name = ?').get(suite, name) as
    { version: string; architecture: string; removed_at: string | null } | undefined;
}

export interface ManualRequest {
  suite: string;
  arch: string;
  package: string;
}

/** Manual requests past schedule.manual_daily_limit: nothing of the batch is scheduled (all or nothing). */
export class DailyLimitError extends ReprofarmError {
  override name = 'DailyLimitError';
  constructor(
    readonly used: number,
    readonly limit: number,
    readonly asked: number,
  ) {
    super(`the daily limit of ${limit} manual requests would be exceeded: ${used} in the last 24 hours, ${asked} more asked`, {
      advice: 'try again later, or raise schedule.manual_daily_limit',
    });
  }
}

/**
 * A package asked for by hand that the suite does not hold (any more). The CLI
 * checks first; this is the check inside the transaction, against a sync that
 * removed it in between.
 */
export class NotInSuiteError extends ReprofarmError {
  override name = 'NotInSuiteError';
  constructor(
    readonly pkg: string,
    readonly suite: string,
  ) {
    super(`${pkg} is not in ${suite}`, { advice: 'run reprofarm sync first if it is new; reprofarm status PKG shows what is known' });
  }
}

/** Manual scheduling, all or nothing, within the daily limit. Returns how many were new to the schedule. */
export function scheduleManual(
  db: FarmDb,
  requests: readonly ManualRequest[],
  opts: { priority: number; by: string; now: Date; dailyLimit: number },
): { added: number; raised: number; building: string[] } {
  const sql = db.sql;
  const now = opts.now.toISOString();
  const dayAgo = new Date(opts.now.getTime() - 86400_000).toISOString();
  const version = sql.prepare('SELECT version FROM sources WHERE suite = ? AND name = ? AND removed_at IS NULL');
  const existing = sql.prepare('SELECT id, claimed_at FROM schedule WHERE suite = ? AND arch = ? AND package = ?');
  const insert = sql.prepare(`INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at, manual)
    VALUES (?, ?, ?, ?, ?, 'manual request', ?, ?, 1)`);
  const raise = sql.prepare(
    `UPDATE schedule SET priority = MAX(priority, ?), manual = 1, reason = 'manual request', scheduled_by = ?, version = ? WHERE id = ?`,
  );
  const log = sql.prepare('INSERT INTO manual_requests (requested_at, requested_by, suite, arch, package, priority) VALUES (?, ?, ?, ?, ?, ?)');
  // asked for by hand: failed attempts are counted afresh
  const forget = sql.prepare('DELETE FROM build_attempts WHERE suite = ? AND arch = ? AND package = ?');
  return sql
    .transaction(() => {
      const used = (sql.prepare('SELECT COUNT(*) AS n FROM manual_requests WHERE requested_at > ?').get(dayAgo) as { n: number }).n;
      if (used + requests.length > opts.dailyLimit) throw new DailyLimitError(used, opts.dailyLimit, requests.length);
      let added = 0;
      let raised = 0;
      const building: string[] = [];
      for (const r of requests) {
        const v = version.get(r.suite, r.package) as { version: string } | undefined;
        if (!v) throw new NotInSuiteError(r.package, r.suite);
        const cur = existing.get(r.suite, r.arch, r.package) as { id: number; claimed_at: string | null } | undefined;
        if (!cur) {
          insert.run(r.suite, r.arch, r.package, v.version, opts.priority, opts.by, now);
          added++;
        } else if (cur.claimed_at === null) {
          raise.run(opts.priority, opts.by, v.version, cur.id);
          raised++;
        } else {
          building.push(r.package);
        }
        if (!cur || cur.claimed_at === null) forget.run(r.suite, r.arch, r.package);
        log.run(now, opts.by, r.suite, r.arch, r.package, opts.priority);
      }
      return { added, raised, building };
    })
    .immediate();
}
