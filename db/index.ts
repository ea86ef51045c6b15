/**
 * reproducible.db: the only module that imports better-sqlite3. WAL mode, a
 * busy timeout, numbered migrations, typed queries. No `await` inside a
 * transaction: every transaction here is synchronous.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ReprofarmError } from '../core/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Health = 'unknown' | 'ok' | 'degraded' | 'unreachable';

export interface CollectionRecord {
  node: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  health: Exclude<Health, 'unknown'>;
  reason: string | null;
  errorKind: string | null;
  clockOffsetS: number | null;
  arch: string | null;
  /** null when the collection returned no usable facts */
  facts: ReadonlyArray<readonly [string, string]> | null;
}

export interface NodeRow {
  name: string;
  health: Health;
  health_reason: string | null;
  last_attempt_at: string | null;
  last_collected_at: string | null;
  clock_offset_s: number | null;
  arch: string | null;
}

export interface OpenOptions {
  busyTimeoutMs?: number;
  readonly?: boolean;
  migrations?: readonly Migration[];
}

export class FarmDb {
  readonly sql: Database.Database;

  constructor(
    readonly path: string,
    opts: OpenOptions = {},
  ) {
    refuseEmptyBesideState(path);
    if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
    try {
      this.sql = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
      this.sql.pragma(`busy_timeout = ${Math.round(opts.busyTimeoutMs ?? 30_000)}`);
      if (!opts.readonly) {
        this.sql.pragma('journal_mode = WAL');
        this.sql.pragma('synchronous = NORMAL');
      }
      this.sql.pragma('foreign_keys = ON');
    } catch (err) {
      throw new ReprofarmError(`cannot open database ${path}`, {
        cause: err,
        advice: 'check that state_dir exists, is writable and holds a SQLite file (or nothing yet)',
      });
    }
    if (!opts.readonly) this.migrate(opts.migrations ?? MIGRATIONS);
  }

  /** Apply pending migrations; safe when several processes open a new DB at once. */
  private migrate(migrations: readonly Migration[]): void {
    const newest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    const run = this.sql.transaction(() => {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const row = this.sql.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
      const current = row.v ?? 0;
      if (current > newest) {
        throw new ReprofarmError(`${this.path} is at schema version ${current}, newer than this reprofarm knows (${newest})`, {
          advice: 'upgrade reprofarm, or restore a backup taken with the older version',
        });
      }
      const insert = this.sql.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= current) continue;
        this.sql.exec(m.sql);
        insert.run(m.version, m.name, new Date().toISOString());
      }
    });
    run.immediate();
  }

  schemaVersion(): number {
    const row = this.sql.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    return row.v ?? 0;
  }

  /**
   * A build found the node unfit (its disk full, its chroot missing or broken, the archive out of
   * its reach): degraded with that reason until the next collection says otherwise.
   */
  markDegraded(node: string, reason: string): void {
    this.sql
      .prepare(
        `INSERT INTO nodes (name, health, health_reason) VALUES (?, 'degraded', ?)
      ON CONFLICT (name) DO UPDATE SET health = 'degraded', health_reason = excluded.health_reason`,
      )
      .run(node, reason);
  }

  /** Record a collection run: every node's attempt, its facts and its health, in one transaction. */
  recordCollections(records: readonly CollectionRecord[]): void {
    const upsertNode = this.sql.prepare(`
      INSERT INTO nodes (name, health, health_reason, last_attempt_at, last_collected_at, clock_offset_s, arch)
      VALUES (@node, @health, @reason, @startedAt, @collectedAt, @clockOffsetS, @arch)
      ON CONFLICT (name) DO UPDATE SET
        health = excluded.health,
        health_reason = excluded.health_reason,
        last_attempt_at = excluded.last_attempt_at,
        last_collected_at = COALESCE(excluded.last_collected_at, nodes.last_collected_at),
        clock_offset_s = COALESCE(excluded.clock_offset_s, nodes.clock_offset_s),
        arch = COALESCE(excluded.arch, nodes.arch)`);
    const insertCollection = this.sql.prepare(`
      INSERT INTO collections (node, started_at, duration_ms, ok, health, reason, error_kind, clock_offset_s)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    const insertFact = this.sql.prepare('INSERT INTO facts (collection_id, key, value) VALUES (?, ?, ?)');
    this.sql
      .transaction(() => {
        for (const r of records) {
          upsertNode.run({
            node: r.node,
            health: r.health,
            reason: r.reason,
            startedAt: r.startedAt,
            collectedAt: r.facts ? r.startedAt : null,
            clockOffsetS: r.clockOffsetS,
            arch: r.arch,
          });
          const id = insertCollection.run(
            r.node,
            r.startedAt,
            Math.round(r.durationMs),
            r.ok ? 1 : 0,
            r.health,
            r.reason,
            r.errorKind,
            r.clockOffsetS,
          ).lastInsertRowid;
          for (const [k, v] of r.facts ?? []) insertFact.run(id, k, v);
        }
      })
      .immediate();
  }

  /** Delete collections (and their facts) that started before `beforeIso`. Returns how many. */
  pruneCollections(beforeIso: string): number {
    return this.sql.prepare('DELETE FROM collections WHERE started_at < ?').run(beforeIso).changes;
  }

  nodes(): NodeRow[] {
    return this.sql.prepare('SELECT * FROM nodes ORDER BY name').all() as NodeRow[];
  }

  node(name: string): NodeRow | undefined {
    return this.sql.prepare('SELECT * FROM nodes WHERE name = ?').get(name) as NodeRow | undefined;
  }

  /** The facts of a node's newest successful collection. */
  latestFacts(node: string): Map<string, string> {
    const rows = this.sql
      .prepare(
        `
      SELECT key, value FROM facts WHERE collection_id = (
        SELECT id FROM collections WHERE node = ? AND ok = 1 ORDER BY started_at DESC, id DESC LIMIT 1)
      ORDER BY key`,
      )
      .all(node) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  close(): void {
    this.sql.close();
  }
}

/** The folders of state_dir that only a farm that has run fills (DESIGN.md, "Files"). */
const STATE_FOLDERS = ['node-information', 'results', 'builds', 'reports'] as const;

/**
 * A 0-byte DB file opens as an empty database, and the migrations would make
 * an empty farm of it. In a brand-new state_dir (missing, or with nothing but
 * that file and empty folders) that is what is wanted; beside a farm's
 * node-information, results, work orders or reports it is a truncated or
 * botched copy (a full disk, a failed restore), and starting afresh would
 * lose the farm's history without a word: refused, and nothing is written.
 */
function refuseEmptyBesideState(path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size !== 0) return;
  const dir = dirname(path);
  const filled = STATE_FOLDERS.filter((f) => {
    try {
      return readdirSync(join(dir, f)).length > 0;
    } catch {
      return false;
    }
  });
  if (filled.length === 0) return;
  throw new ReprofarmError(
    `${path} is empty (0 bytes), but its state_dir ${dir} holds a farm's state (${filled.map((f) => `${f}/`).join(', ')}): ` +
      'opening it would start an empty farm beside them',
    {
      advice:
        `restore the database from a copy taken with \`reprofarm backup\` (copy it to ${path}), ` +
        `or, to start a new farm, move ${dir} aside (or remove the empty ${basename(path)} together with ${filled.map((f) => `${f}/`).join(', ')})`,
    },
  );
}

export function openDb(path: string, opts: OpenOptions = {}): FarmDb {
  return new FarmDb(path, opts);
}

/** Statements compiled once per connection: claims run hot, and compiling inside BEGIN IMMEDIATE holds the write lock longer. */
const statements = new WeakMap<FarmDb, Map<string, Database.Statement>>();
export function stmt(db: FarmDb, sqlText: string): Database.Statement {
  let m = statements.get(db);
  if (!m) {
    m = new Map();
    statements.set(db, m);
  }
  let s = m.get(sqlText);
  if (!s) {
    s = db.sql.prepare(sqlText);
    m.set(sqlText, s);
  }
  return s;
}
