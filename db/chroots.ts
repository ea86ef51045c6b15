/**
 * The nodes' chroot tarballs (table `chroots`, one row per node, suite and
 * architecture): written by `chroot update` when it makes or checks one, and
 * by `collect` from the node's CHROOTS fact, in the transaction that records
 * the facts. The builder reads it to know which suites a pair can build.
 */
import type { CollectionRecord, FarmDb } from './index.js';

export interface ChrootRow {
  node: string;
  suite: string;
  arch: string;
  /** ISO 8601, UTC: when the tarball was made */
  created: string;
  size: number;
  sha256: string;
  /** when chroot update or collect last saw it on the node */
  seen_at: string;
}

/** A tarball as a node reports it (its .info file). */
export interface ChrootFact {
  suite: string;
  arch: string;
  created: Date;
  size: number;
  sha256: string;
}

const UPSERT = `INSERT INTO chroots (node, suite, arch, created, size, sha256, seen_at) VALUES (@node, @suite, @arch, @created, @size, @sha256, @seenAt)
  ON CONFLICT (node, suite, arch) DO UPDATE SET created = excluded.created, size = excluded.size, sha256 = excluded.sha256, seen_at = excluded.seen_at`;

function params(node: string, c: ChrootFact, seenAt: Date): Record<string, string | number> {
  return { node, suite: c.suite, arch: c.arch, created: c.created.toISOString(), size: c.size, sha256: c.sha256, seenAt: seenAt.toISOString() };
}

/** Record one tarball a node has (chroot update made it, or found it up to date). */
export function recordChroot(db: FarmDb, node: string, c: ChrootFact, seenAt: Date = new Date()): void {
  db.sql.prepare(UPSERT).run(params(node, c, seenAt));
}

/** Make a node's rows what it reported: these tarballs and no others. */
export function replaceNodeChroots(db: FarmDb, node: string, chroots: readonly ChrootFact[], seenAt: Date = new Date()): void {
  const del = db.sql.prepare('DELETE FROM chroots WHERE node = ?');
  const upsert = db.sql.prepare(UPSERT);
  db.sql
    .transaction(() => {
      del.run(node);
      for (const c of chroots) upsert.run(params(node, c, seenAt));
    })
    .immediate();
}

/**
 * Record a collection run (db.recordCollections) and, in the same
 * transaction, each node's tarballs as it reported them: `chroots` holds a
 * list for each node whose facts said (an empty list clears its rows); a node
 * not in it keeps its rows.
 */
export function recordCollectionsWithChroots(
  db: FarmDb,
  records: readonly CollectionRecord[],
  chroots: ReadonlyMap<string, readonly ChrootFact[]>,
  seenAt: Date = new Date(),
): void {
  db.sql
    .transaction(() => {
      db.recordCollections(records);
      for (const [node, list] of chroots) replaceNodeChroots(db, node, list, seenAt);
    })
    .immediate();
}

export function nodeChroots(db: FarmDb, node: string): ChrootRow[] {
  return db.sql.prepare('SELECT * FROM chroots WHERE node = ? ORDER BY suite, arch').all(node) as ChrootRow[];
}

export function allChroots(db: FarmDb): ChrootRow[] {
  return db.sql.prepare('SELECT * FROM chroots ORDER BY node, suite, arch').all() as ChrootRow[];
}

/** The suites among `suites` for which every one of `nodes` has a tarball of `arch`, in the order given. */
export function suitesWithChroots(db: FarmDb, nodes: readonly string[], arch: string, suites: readonly string[]): string[] {
  const has = db.sql.prepare('SELECT 1 FROM chroots WHERE node = ? AND suite = ? AND arch = ?');
  return suites.filter((s) => nodes.every((n) => has.get(n, s, arch) !== undefined));
}
