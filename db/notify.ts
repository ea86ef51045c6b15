/**
 * The notification outbox (migration 11). A status change is written as an
 * event in the transaction that records the build, so none is lost and none
 * is recorded without its event. Each run of `notify` gives new events to the
 * destinations whose filters they match, leases a batch per destination (so
 * two runs never send the same one at once), and marks it delivered, or
 * failed with a later next_attempt_at, each in its own transaction.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { FarmDb } from './index.js';

export interface EventRow {
  id: number;
  uid: string;
  suite: string;
  arch: string;
  package: string;
  version: string;
  old_version: string | null;
  old_status: string;
  status: string;
  build_id: number | null;
  created_at: string;
}

/**
 * Inside recordBuild's transaction, before the result is written: an event when the status
 * differs from the current result's (a first result counts as a change from untested).
 */
export function noteStatusChange(
  sql: Database.Database,
  key: { suite: string; arch: string; package: string; version: string },
  status: string,
  buildId: number,
  date: string,
): void {
  const old = sql.prepare('SELECT status, version FROM results WHERE suite = ? AND arch = ? AND package = ?').get(key.suite, key.arch, key.package) as
    { status: string; version: string } | undefined;
  if (old?.status === status) return;
  sql
    .prepare(
      `INSERT INTO notify_events (uid, suite, arch, package, version, old_version, old_status, status, build_id, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(randomUUID(), key.suite, key.arch, key.package, key.version, old?.version ?? null, old?.status ?? 'untested', status, buildId, date);
}

/**
 * Give each destination the events since it last looked that `wants` accepts. A destination
 * seen for the first time starts after the newest event: it is not sent the farm's history.
 */
export function expandEvents(db: FarmDb, destination: string, wants: (e: EventRow) => boolean): number {
  const sql = db.sql;
  return sql
    .transaction(() => {
      const newest = (sql.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM notify_events').get() as { m: number }).m;
      sql.prepare('INSERT OR IGNORE INTO notify_destinations (name, seen_through) VALUES (?, ?)').run(destination, newest);
      const from = (sql.prepare('SELECT seen_through AS s FROM notify_destinations WHERE name = ?').get(destination) as { s: number }).s;
      const add = sql.prepare('INSERT OR IGNORE INTO notify_deliveries (destination, event_id, next_attempt_at) VALUES (?, ?, ?)');
      let n = 0;
      for (const e of sql.prepare('SELECT * FROM notify_events WHERE id > ? AND id <= ? ORDER BY id').all(from, newest) as EventRow[]) {
        if (!wants(e)) continue;
        add.run(destination, e.id, e.created_at);
        n++;
      }
      sql.prepare('UPDATE notify_destinations SET seen_through = ? WHERE name = ?').run(newest, destination);
      return n;
    })
    .immediate();
}

export type Claimed = { kind: 'batch'; events: EventRow[] } | { kind: 'none' } | { kind: 'rate-limited'; sentLastHour: number };

/** Lease the next due batch of a destination, counted against its hourly budget; one transaction. */
export function claimBatch(db: FarmDb, destination: string, o: { owner: string; max: number; maxPerHour: number; leaseS: number; now: Date }): Claimed {
  const sql = db.sql;
  const now = o.now.toISOString();
  return sql
    .transaction((): Claimed => {
      const hourAgo = new Date(o.now.getTime() - 3600_000).toISOString();
      const sent = (sql.prepare('SELECT COUNT(*) AS n FROM notify_sends WHERE destination = ? AND at > ?').get(destination, hourAgo) as { n: number }).n;
      const due = sql
        .prepare(
          `SELECT event_id FROM notify_deliveries WHERE destination = ? AND delivered_at IS NULL AND next_attempt_at <= ?
        AND (lease_until IS NULL OR lease_until <= ?) ORDER BY event_id LIMIT ?`,
        )
        .all(destination, now, now, o.max) as { event_id: number }[];
      if (due.length === 0) return { kind: 'none' };
      if (sent >= o.maxPerHour) return { kind: 'rate-limited', sentLastHour: sent };
      const until = new Date(o.now.getTime() + o.leaseS * 1000).toISOString();
      const lease = sql.prepare('UPDATE notify_deliveries SET lease_owner = ?, lease_until = ? WHERE destination = ? AND event_id = ?');
      for (const d of due) lease.run(o.owner, until, destination, d.event_id);
      sql.prepare('INSERT INTO notify_sends (destination, at, events) VALUES (?, ?, ?)').run(destination, now, due.length);
      const get = sql.prepare('SELECT * FROM notify_events WHERE id = ?');
      return { kind: 'batch', events: due.map((d) => get.get(d.event_id) as EventRow) };
    })
    .immediate();
}

/** Right after a successful send, in its own transaction: a crash before it sends the batch once more. */
export function markDelivered(db: FarmDb, destination: string, owner: string, ids: readonly number[], now: Date): void {
  const mark = db.sql.prepare(
    'UPDATE notify_deliveries SET delivered_at = ?, lease_owner = NULL, lease_until = NULL, last_error = NULL, attempts = attempts + 1 WHERE destination = ? AND event_id = ? AND lease_owner = ?',
  );
  db.sql.transaction(() => ids.forEach((id) => mark.run(now.toISOString(), destination, id, owner))).immediate();
}

/** A failed send: each event of the batch waits `delayS(attempts)` before it is tried again. */
export function markFailed(
  db: FarmDb,
  destination: string,
  owner: string,
  ids: readonly number[],
  error: string,
  now: Date,
  delayS: (attempts: number) => number,
): void {
  const sql = db.sql;
  const get = sql.prepare('SELECT attempts FROM notify_deliveries WHERE destination = ? AND event_id = ? AND lease_owner = ?');
  const set = sql.prepare(
    'UPDATE notify_deliveries SET attempts = ?, next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE destination = ? AND event_id = ?',
  );
  sql
    .transaction(() => {
      for (const id of ids) {
        const r = get.get(destination, id, owner) as { attempts: number } | undefined;
        if (!r) continue;
        const next = new Date(now.getTime() + delayS(r.attempts + 1) * 1000).toISOString();
        set.run(r.attempts + 1, next, error.slice(0, 1000), destination, id);
      }
    })
    .immediate();
}

export interface PendingRow {
  destination: string;
  pending: number;
  next_attempt_at: string | null;
  last_error: string | null;
}

/** What each destination still owes. */
export function pendingDeliveries(db: FarmDb): PendingRow[] {
  return db.sql
    .prepare(
      `SELECT destination, COUNT(*) AS pending, MIN(next_attempt_at) AS next_attempt_at, MAX(last_error) AS last_error
    FROM notify_deliveries WHERE delivered_at IS NULL GROUP BY destination ORDER BY destination`,
    )
    .all() as PendingRow[];
}

/**
 * Forget destinations no longer configured (with what they had pending), events older than
 * `beforeIso` that no configured destination still owes, and the rate limit's counts older than a
 * day before `now` (the caller's clock, the one claimBatch counts the hour with).
 */
export function pruneNotify(db: FarmDb, configured: readonly string[], beforeIso: string, now: Date): void {
  const sql = db.sql;
  const list = JSON.stringify(configured);
  sql
    .transaction(() => {
      sql.prepare('DELETE FROM notify_deliveries WHERE destination NOT IN (SELECT value FROM json_each(?))').run(list);
      sql.prepare('DELETE FROM notify_destinations WHERE name NOT IN (SELECT value FROM json_each(?))').run(list);
      sql
        .prepare('DELETE FROM notify_events WHERE created_at < ? AND id NOT IN (SELECT event_id FROM notify_deliveries WHERE delivered_at IS NULL)')
        .run(beforeIso);
      sql.prepare('DELETE FROM notify_sends WHERE at < ?').run(new Date(now.getTime() - 86400_000).toISOString());
    })
    .immediate();
}
