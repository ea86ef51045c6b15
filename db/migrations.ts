/**
 * Numbered schema migrations. Each runs once, in order, inside the same
 * transaction that records it in `schema_migrations`. Never edit a migration
 * that has shipped: add the next number.
 */
import { WAVE2_MIGRATIONS } from './migrations-wave2.js';

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
  {
    version: 2,
    name: 'sources, results and the schedule',
    sql: `
      CREATE TABLE sources (
        suite TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        architecture TEXT NOT NULL,
        directory TEXT NOT NULL,
        dsc_name TEXT NOT NULL,
        dsc_sha256 TEXT NOT NULL,
        dsc_size INTEGER NOT NULL,
        first_seen TEXT NOT NULL,       -- when sync first saw the package in this suite
        version_seen TEXT NOT NULL,     -- when sync first saw this version
        removed_at TEXT,                -- set when it left the suite; history stays
        PRIMARY KEY (suite, name)
      ) WITHOUT ROWID;
      CREATE TABLE results (
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('reproducible', 'FTBR', 'FTBFS', 'depwait', 'E404',
          'source-mismatch', 'timeout', 'NFU', 'blacklisted', 'untested')),
        build_date TEXT NOT NULL,
        PRIMARY KEY (suite, arch, package)
      ) WITHOUT ROWID;
      CREATE INDEX results_status ON results (suite, arch, status, build_date);
      CREATE TABLE schedule (
        id INTEGER PRIMARY KEY,
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        priority INTEGER NOT NULL,
        reason TEXT NOT NULL,
        scheduled_by TEXT NOT NULL,
        scheduled_at TEXT NOT NULL,
        manual INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,                -- the job that is building it
        claimed_at TEXT,                -- when the build started (NULL: waiting)
        UNIQUE (suite, arch, package)
      );
      CREATE INDEX schedule_next ON schedule (arch, priority DESC, scheduled_at, id) WHERE claimed_at IS NULL;
      CREATE INDEX schedule_claimed ON schedule (claimed_at) WHERE claimed_at IS NOT NULL;
      CREATE TABLE manual_requests (
        id INTEGER PRIMARY KEY,
        requested_at TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        priority INTEGER NOT NULL
      );
      CREATE INDEX manual_requests_at ON manual_requests (requested_at);
      CREATE TABLE sync_state (
        suite TEXT PRIMARY KEY,
        sources_file TEXT NOT NULL,     -- which index was read, relative to dists/<suite>/
        sources_sha256 TEXT NOT NULL,   -- its checksum: an unchanged index is not parsed again
        settings_hash TEXT NOT NULL,    -- architectures and blacklist it was applied with
        synced_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'builds: per-pair history and per-build rows',
    sql: `
      ALTER TABLE results ADD COLUMN node1 TEXT;
      ALTER TABLE results ADD COLUMN node2 TEXT;
      ALTER TABLE results ADD COLUMN job TEXT;
      ALTER TABLE results ADD COLUMN build_duration REAL;   -- seconds, both builds and the comparison
      ALTER TABLE results ADD COLUMN build_id INTEGER;
      ALTER TABLE schedule ADD COLUMN claim_host TEXT;       -- main node host and pid holding the claim,
      ALTER TABLE schedule ADD COLUMN claim_pid INTEGER;     -- so cleanup can tell a dead orchestrator
      CREATE TABLE builds (
        id INTEGER PRIMARY KEY,
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL,
        build_date TEXT NOT NULL,
        job TEXT,
        node1 TEXT,
        node2 TEXT,
        duration REAL,                  -- seconds
        reason TEXT,                    -- why FTBR / FTBFS / source-mismatch..., for people
        report TEXT                     -- diffoscope report (path under state_dir/reports), if any
      );
      CREATE INDEX builds_package ON builds (suite, arch, package, build_date);
      CREATE INDEX builds_date ON builds (build_date);
      CREATE TABLE build_runs (
        build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
        build_number INTEGER NOT NULL CHECK (build_number IN (1, 2)),
        node TEXT NOT NULL,
        started_at TEXT NOT NULL,
        duration REAL NOT NULL,         -- seconds, the node's own build time
        exit_code INTEGER,
        result TEXT NOT NULL,           -- built, FTBFS, timeout, E404, source-mismatch, unreachable
        variations TEXT NOT NULL,       -- JSON object: variation -> value applied
        not_applied TEXT NOT NULL,      -- JSON object: variation -> why not
        PRIMARY KEY (build_id, build_number)
      ) WITHOUT ROWID;
      CREATE INDEX build_runs_node ON build_runs (node, started_at);
    `,
  },
  {
    version: 4,
    name: 'site: change log for incremental rendering, builds per day',
    sql: `
      -- every change to what a package page shows, in order; the site builder
      -- renders what changed since the sequence number it last rendered, then
      -- prunes what it has rendered (site_meta.pruned_through tells a site
      -- that fell behind the pruning to render everything)
      CREATE TABLE site_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        suite TEXT NOT NULL,
        arch TEXT,                      -- NULL: every architecture of the suite
        package TEXT NOT NULL
      );
      CREATE TABLE site_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TRIGGER site_results_insert AFTER INSERT ON results BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (NEW.suite, NEW.arch, NEW.package);
      END;
      CREATE TRIGGER site_results_update AFTER UPDATE ON results BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (NEW.suite, NEW.arch, NEW.package);
      END;
      CREATE TRIGGER site_results_delete AFTER DELETE ON results BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (OLD.suite, OLD.arch, OLD.package);
      END;
      CREATE TRIGGER site_sources_insert AFTER INSERT ON sources BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (NEW.suite, NULL, NEW.name);
      END;
      CREATE TRIGGER site_sources_update AFTER UPDATE ON sources
        WHEN OLD.version IS NOT NEW.version OR OLD.removed_at IS NOT NEW.removed_at BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (NEW.suite, NULL, NEW.name);
      END;
      -- builds per day and status, kept by the DB itself so the dashboard's
      -- charts never scan a year of history
      CREATE TABLE daily_builds (
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        day TEXT NOT NULL,              -- YYYY-MM-DD, UTC
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (suite, arch, day, status)
      ) WITHOUT ROWID;
      INSERT INTO daily_builds (suite, arch, day, status, n)
        SELECT suite, arch, substr(build_date, 1, 10), status, COUNT(*) FROM builds GROUP BY 1, 2, 3, 4;
      CREATE TRIGGER daily_builds_insert AFTER INSERT ON builds BEGIN
        INSERT INTO daily_builds (suite, arch, day, status, n) VALUES (NEW.suite, NEW.arch, substr(NEW.build_date, 1, 10), NEW.status, 1)
          ON CONFLICT (suite, arch, day, status) DO UPDATE SET n = n + 1;
      END;
      CREATE INDEX build_runs_started ON build_runs (started_at, node, duration);
      CREATE INDEX sources_removed ON sources (suite, name) WHERE removed_at IS NOT NULL;
      CREATE INDEX builds_job ON builds (job, id);
    `,
  },
  {
    version: 5,
    name: 'site: schedule versions, builds per node and hour',
    sql: `
      -- per suite/arch, a number that moves with every change to its schedule:
      -- the site reads a schedule again only when its number moved
      CREATE TABLE schedule_versions (
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (suite, arch)
      ) WITHOUT ROWID;
      INSERT INTO schedule_versions (suite, arch, version) SELECT suite, arch, 1 FROM schedule GROUP BY suite, arch;
      CREATE TRIGGER schedule_versions_insert AFTER INSERT ON schedule BEGIN
        INSERT INTO schedule_versions (suite, arch, version) VALUES (NEW.suite, NEW.arch, 1)
          ON CONFLICT (suite, arch) DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER schedule_versions_update AFTER UPDATE ON schedule BEGIN
        INSERT INTO schedule_versions (suite, arch, version) VALUES (OLD.suite, OLD.arch, 1)
          ON CONFLICT (suite, arch) DO UPDATE SET version = version + 1;
        INSERT INTO schedule_versions (suite, arch, version) VALUES (NEW.suite, NEW.arch, 1)
          ON CONFLICT (suite, arch) DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER schedule_versions_delete AFTER DELETE ON schedule BEGIN
        INSERT INTO schedule_versions (suite, arch, version) VALUES (OLD.suite, OLD.arch, 1)
          ON CONFLICT (suite, arch) DO UPDATE SET version = version + 1;
      END;
      -- single builds per node and hour (YYYY-MM-DDTHH of started_at), kept by
      -- the DB itself: node health counts a week of builds without reading them
      CREATE TABLE node_hours (
        hour TEXT NOT NULL,
        node TEXT NOT NULL,
        runs INTEGER NOT NULL,
        duration REAL NOT NULL,         -- seconds, summed
        PRIMARY KEY (hour, node)
      ) WITHOUT ROWID;
      INSERT INTO node_hours (hour, node, runs, duration)
        SELECT substr(started_at, 1, 13), node, COUNT(*), SUM(duration) FROM build_runs GROUP BY 1, 2;
      CREATE TRIGGER node_hours_insert AFTER INSERT ON build_runs BEGIN
        INSERT INTO node_hours (hour, node, runs, duration) VALUES (substr(NEW.started_at, 1, 13), NEW.node, 1, NEW.duration)
          ON CONFLICT (hour, node) DO UPDATE SET runs = runs + 1, duration = duration + excluded.duration;
      END;
      CREATE TRIGGER node_hours_delete AFTER DELETE ON build_runs BEGIN
        UPDATE node_hours SET runs = runs - 1, duration = duration - OLD.duration WHERE hour = substr(OLD.started_at, 1, 13) AND node = OLD.node;
        DELETE FROM node_hours WHERE hour = substr(OLD.started_at, 1, 13) AND node = OLD.node AND runs <= 0;
      END;
      CREATE TRIGGER node_hours_update AFTER UPDATE OF node, started_at, duration ON build_runs BEGIN
        UPDATE node_hours SET runs = runs - 1, duration = duration - OLD.duration WHERE hour = substr(OLD.started_at, 1, 13) AND node = OLD.node;
        DELETE FROM node_hours WHERE hour = substr(OLD.started_at, 1, 13) AND node = OLD.node AND runs <= 0;
        INSERT INTO node_hours (hour, node, runs, duration) VALUES (substr(NEW.started_at, 1, 13), NEW.node, 1, NEW.duration)
          ON CONFLICT (hour, node) DO UPDATE SET runs = runs + 1, duration = duration + excluded.duration;
      END;
    `,
  },
  {
    version: 6,
    name: 'sync: the newest Release date seen per suite and mirror',
    sql: `
      -- a Release older than the newest one synced from the same mirror is refused:
      -- a rolled-back mirror, or an old signed Release served again
      CREATE TABLE release_seen (
        suite TEXT PRIMARY KEY,
        mirror TEXT NOT NULL,
        release_date TEXT NOT NULL      -- ISO 8601, UTC
      );
    `,
  },
  {
    version: 7,
    name: 'builds: failed attempts per package version',
    sql: `
      -- a package version whose builds keep failing for the same reason (its results refused,
      -- a build that never ends) is recorded after build.max_attempts and not retried by the
      -- scheduler (gave_up) until a new version or a manual request
      CREATE TABLE build_attempts (
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        kind TEXT NOT NULL,             -- what failed, the same for the same reason
        failures INTEGER NOT NULL,      -- consecutive failures of this kind
        reason TEXT NOT NULL,           -- the last failure's words
        last_at TEXT NOT NULL,
        gave_up INTEGER NOT NULL DEFAULT 0 CHECK (gave_up IN (0, 1)),
        PRIMARY KEY (suite, arch, package)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    name: "chroot backend: the nodes' chroots, a depwait's unmet dependencies",
    sql: `
      -- one row per node and chroot tarball, written by chroot update (and kept by collect's facts)
      CREATE TABLE chroots (
        node TEXT NOT NULL,
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        created TEXT NOT NULL,          -- ISO 8601, UTC: when the tarball was made
        size INTEGER NOT NULL,          -- bytes
        sha256 TEXT NOT NULL,
        seen_at TEXT NOT NULL,          -- when chroot update or collect last saw it on the node
        PRIMARY KEY (node, suite, arch)
      ) WITHOUT ROWID;
      -- what apt said could not be satisfied, for a depwait (text, as apt names them)
      ALTER TABLE builds ADD COLUMN unmet TEXT;
    `,
  },
  ...WAVE2_MIGRATIONS,
];
