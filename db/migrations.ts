/**
 * Numbered schema migrations. Each runs once, in order, inside the same
 * transaction that records it in `schema_migrations`. Never edit a migration
 * that has shipped: add the next number.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'nodes, collections and facts',
    sql: `
      CREATE TABLE nodes (
        name TEXT PRIMARY KEY,
        health TEXT NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown', 'ok', 'degraded', 'unreachable')),
        health_reason TEXT,
        last_attempt_at TEXT,          -- ISO 8601 UTC, main node clock
        last_collected_at TEXT,        -- last attempt that returned usable facts
        clock_offset_s REAL,           -- node clock minus main clock, from the last good collection
        arch TEXT
      );
      CREATE TABLE collections (
        id INTEGER PRIMARY KEY,
        node TEXT NOT NULL REFERENCES nodes(name) ON DELETE CASCADE,
        started_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        health TEXT NOT NULL,
        reason TEXT,
        error_kind TEXT,
        clock_offset_s REAL
      );
      CREATE INDEX collections_node_started ON collections (node, started_at);
      CREATE INDEX collections_started ON collections (started_at);
      CREATE TABLE facts (
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (collection_id, key)
      ) WITHOUT ROWID;
    `,
  },
];
