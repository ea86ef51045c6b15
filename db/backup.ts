/**
 * Online backups of reproducible.db with SQLite's backup API. The copy is
 * taken in one step, under one read transaction: in WAL mode writers go on
 * while it runs, and the copy is the database as of one moment (a backup
 * copied in several steps restarts whenever another process writes, and
 * under a steady writer might never finish).
 */
import Database from 'better-sqlite3';
import { ReprofarmError } from '../core/errors.js';

export interface BackupResult {
  pages: number;
  /** what PRAGMA integrity_check said about the copy: 'ok' or its first problems */
  integrity: string;
}

/** Copy the database at `src` to the new file `dest` (which must not exist), check the copy, leave it in rollback-journal mode. */
export async function backupDatabase(src: string, dest: string, opts: { busyTimeoutMs?: number } = {}): Promise<BackupResult> {
  let db: Database.Database;
  try {
    db = new Database(src, { fileMustExist: true });
    db.pragma(`busy_timeout = ${Math.round(opts.busyTimeoutMs ?? 30_000)}`);
  } catch (err) {
    throw new ReprofarmError(`cannot open database ${src}`, { cause: err, advice: 'check state_dir in the configuration: is there a reproducible.db?' });
  }
  let pages = 0;
  try {
    const r = await db.backup(dest, {
      // after the first (empty) step, everything in the next one: a single consistent snapshot
      progress: ({ totalPages }) => {
        pages = totalPages;
        return 0x7fffffff;
      },
    });
    pages = r.totalPages;
  } catch (err) {
    throw new ReprofarmError(`backing up ${src} to ${dest} failed`, { cause: err, advice: 'check the free space and permissions where the backup goes' });
  } finally {
    db.close();
  }
  // the copy carries the WAL flag of its source: make it one self-contained file, then check it
  const copy = new Database(dest, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const rows = copy.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return {
      pages,
      integrity: rows
        .map((r) => r.integrity_check)
        .slice(0, 5)
        .join('; '),
    };
  } finally {
    copy.close();
  }
}
