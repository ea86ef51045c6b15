/** What `reprofarm status` reads: counts per suite and architecture, and one package's state everywhere. Read-only. */
import type { FarmDb } from './index.js';

export interface SuiteArchStatus {
  suite: string;
  arch: string;
  known: number;
  untested: number;
  statuses: Record<string, number>;
  scheduled: number;
  building: number;
}

export function statusSummary(db: FarmDb, suites: readonly string[], arches: readonly string[]): SuiteArchStatus[] {
  const sql = db.sql;
  const out: SuiteArchStatus[] = [];
  for (const suite of suites) {
    const known = (sql.prepare('SELECT COUNT(*) AS n FROM sources WHERE suite = ? AND removed_at IS NULL').get(suite) as { n: number }).n;
    for (const arch of arches) {
      const statuses: Record<string, number> = {};
      for (const r of sql
        .prepare(
          `SELECT r.status, COUNT(*) AS n FROM results r JOIN sources s ON s.suite = r.suite AND s.name = r.package AND s.removed_at IS NULL
        WHERE r.suite = ? AND r.arch = ? GROUP BY r.status ORDER BY r.status`,
        )
        .all(suite, arch) as { status: string; n: number }[])
        statuses[r.status] = r.n;
      const tested = Object.values(statuses).reduce((a, b) => a + b, 0);
      const q = sql
        .prepare(`SELECT SUM(claimed_at IS NULL) AS waiting, SUM(claimed_at IS NOT NULL) AS building FROM schedule WHERE suite = ? AND arch = ?`)
        .get(suite, arch) as { waiting: number | null; building: number | null };
      out.push({ suite, arch, known, untested: known - tested, statuses, scheduled: q.waiting ?? 0, building: q.building ?? 0 });
    }
  }
  return out;
}

export interface PackageStatus {
  suite: string;
  arch: string;
  package: string;
  version: string | null;
  removed: boolean;
  status: string;
  build_date: string | null;
  tested_version: string | null;
  scheduled: { priority: number; reason: string; scheduled_at: string; scheduled_by: string; claimed_by: string | null; claimed_at: string | null } | null;
}

export function packageStatus(db: FarmDb, name: string, suites: readonly string[], arches: readonly string[]): PackageStatus[] {
  const sql = db.sql;
  const out: PackageStatus[] = [];
  for (const suite of suites) {
    const src = sql.prepare('SELECT version, removed_at FROM sources WHERE suite = ? AND name = ?').get(suite, name) as
      { version: string; removed_at: string | null } | undefined;
    for (const arch of arches) {
      const res = sql.prepare('SELECT version, status, build_date FROM results WHERE suite = ? AND arch = ? AND package = ?').get(suite, arch, name) as
        { version: string; status: string; build_date: string } | undefined;
      const sch = sql
        .prepare('SELECT priority, reason, scheduled_at, scheduled_by, claimed_by, claimed_at FROM schedule WHERE suite = ? AND arch = ? AND package = ?')
        .get(suite, arch, name) as PackageStatus['scheduled'] | undefined;
      if (!src && !res && !sch) continue;
      out.push({
        suite,
        arch,
        package: name,
        version: src?.version ?? null,
        removed: src?.removed_at != null,
        status: res?.status ?? 'untested',
        build_date: res?.build_date ?? null,
        tested_version: res?.version ?? null,
        scheduled: sch ?? null,
      });
    }
  }
  return out;
}
