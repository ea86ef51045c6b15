/**
 * What a suite/arch's list pages read besides the listing (db/site.ts): the
 * current sources tested since a moment, newest first. By the index on
 * results (suite, arch, status, build_date): a range per status, never a scan
 * of the suite.
 */
import { STATUSES } from '../core/statuses.js';
import type { FarmDb } from './index.js';
import type { ListRow } from './site.js';

const STATUS_LIST = STATUSES.map((s) => `'${s}'`).join(', ');

const RECENT_SQL = `SELECT r.package, r.version, r.status, r.build_date FROM results r INDEXED BY results_status
  JOIN sources s ON s.suite = r.suite AND s.name = r.package AND s.removed_at IS NULL
  WHERE r.suite = ? AND r.arch = ? AND r.status IN (${STATUS_LIST}) AND r.build_date > ?
  ORDER BY r.build_date DESC, r.package`;

/** The current sources of a suite whose result on `arch` is newer than `since` (ISO 8601), newest first. */
export function recentListing(db: FarmDb, suite: string, arch: string, since: string): ListRow[] {
  return db.sql.prepare(RECENT_SQL).all(suite, arch, since) as ListRow[];
}
