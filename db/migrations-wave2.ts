/**
 * Wave 2's schema migrations (9 on): culprits, notify, attestations,
 * maintainers, notes. db/migrations.ts holds the earlier ones and the rule:
 * never edit a migration that has shipped, add the next number.
 */
import type { Migration } from './migrations.js';

export const WAVE2_MIGRATIONS: readonly Migration[] = [
  {
    version: 9,
    name: 'culprits: why a package version is unreproducible, and the builds that found out',
    sql: `
      -- one per FTBR package (its current version): the hints' evidence, the search's state,
      -- the verdict. A new version's FTBR starts afresh; a result other than FTBR removes it.
      CREATE TABLE culprit_searches (
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        build_id INTEGER NOT NULL,      -- the FTBR pair it explains
        job TEXT NOT NULL,              -- whose pair builds the follow-ups (on its node 1)
        state TEXT NOT NULL CHECK (state IN ('waiting', 'done')),
        verdict TEXT CHECK (verdict IN ('culprits', 'nondeterministic', 'unknown')),
        culprits TEXT NOT NULL DEFAULT '[]',     -- JSON: variation keys
        source TEXT CHECK (source IN ('hints', 'search')),
        why TEXT,                       -- an unknown verdict's reason; how a search ended
        hints TEXT NOT NULL DEFAULT '[]',        -- JSON: [{variation, category, file, evidence}]
        categories TEXT NOT NULL DEFAULT '[]',   -- JSON: [{category, variation, file, evidence}]
        plan TEXT NOT NULL DEFAULT '{}',         -- JSON: the search's state (culprit/search.ts)
        reference TEXT NOT NULL DEFAULT '{}',    -- JSON: build 1's artifacts, name -> SHA256
        builds INTEGER NOT NULL DEFAULT 0,       -- follow-up builds it took
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        claimed_by TEXT,                -- the job running its next step
        claimed_at TEXT,
        claim_host TEXT,
        claim_pid INTEGER,
        PRIMARY KEY (suite, arch, package)
      ) WITHOUT ROWID;
      CREATE INDEX culprit_searches_next ON culprit_searches (job, arch, created_at) WHERE state = 'waiting' AND claimed_at IS NULL;
      CREATE INDEX culprit_searches_verdict ON culprit_searches (suite, arch, verdict);
      -- each follow-up build: which variations had build 2's value (the rest build 1's), and whether
      -- its artifacts differed from build 1's
      CREATE TABLE culprit_steps (
        id INTEGER PRIMARY KEY,
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        step INTEGER NOT NULL,          -- 1, 2, ... within the search
        kind TEXT NOT NULL CHECK (kind IN ('control', 'all', 'half', 'rest')),
        variations TEXT NOT NULL,       -- JSON: the keys given build 2's value
        node TEXT NOT NULL,
        started_at TEXT NOT NULL,
        duration REAL NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('differs', 'same', 'failed')),
        reason TEXT
      );
      CREATE INDEX culprit_steps_of ON culprit_steps (suite, arch, package, version, step);
      CREATE INDEX culprit_steps_started ON culprit_steps (started_at);
    `,
  },
  {
    version: 10,
    name: 'site: a culprit verdict, its evidence or its search changing marks the package for rendering',
    sql: `
      -- the package page, the FTBR listings' culprit column and the pages per culprit show these
      CREATE TRIGGER site_culprits_insert AFTER INSERT ON culprit_searches BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (NEW.suite, NEW.arch, NEW.package);
      END;
      -- a claim or the plan alone changes nothing a page shows
      CREATE TRIGGER site_culprits_update AFTER UPDATE OF version, state, verdict, culprits, source, why, hints, categories, builds
        ON culprit_searches BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (NEW.suite, NEW.arch, NEW.package);
      END;
      CREATE TRIGGER site_culprits_delete AFTER DELETE ON culprit_searches BEGIN
        INSERT INTO site_changes (suite, arch, package) VALUES (OLD.suite, OLD.arch, OLD.package);
      END;
    `,
  },
  {
    version: 11,
    name: 'notify: an outbox of status changes, delivered to each destination with retries',
    sql: `
      -- a package's status changed: written in the transaction that records the build (db/builds.ts)
      CREATE TABLE notify_events (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,       -- sent with the event: receivers dedupe on it (at-least-once)
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        old_version TEXT,               -- NULL: no result before
        old_status TEXT NOT NULL,       -- untested when there was no result before
        status TEXT NOT NULL,
        build_id INTEGER,
        created_at TEXT NOT NULL
      );
      CREATE INDEX notify_events_created ON notify_events (created_at);
      -- a destination (webhook:URL, mail) and the last event its filters were applied to
      CREATE TABLE notify_destinations (
        name TEXT PRIMARY KEY,
        seen_through INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- one event owed to one destination: leased while being sent, retried with backoff until delivered
      CREATE TABLE notify_deliveries (
        destination TEXT NOT NULL,
        event_id INTEGER NOT NULL REFERENCES notify_events(id) ON DELETE CASCADE,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        lease_owner TEXT,
        lease_until TEXT,
        delivered_at TEXT,
        PRIMARY KEY (destination, event_id)
      ) WITHOUT ROWID;
      CREATE INDEX notify_deliveries_due ON notify_deliveries (destination, next_attempt_at) WHERE delivered_at IS NULL;
      CREATE INDEX notify_deliveries_event ON notify_deliveries (event_id);
      -- each message sent or tried, for notify.max_messages_per_hour
      CREATE TABLE notify_sends (
        destination TEXT NOT NULL,
        at TEXT NOT NULL,
        events INTEGER NOT NULL
      );
      CREATE INDEX notify_sends_at ON notify_sends (destination, at);
    `,
  },
  {
    version: 12,
    name: 'attestations: the signed in-toto statement of each recorded result',
    sql: `
      -- a DSSE envelope per recorded result (and per later verdict), written with the result (db/builds.ts)
      CREATE TABLE attestations (
        id INTEGER PRIMARY KEY,
        suite TEXT NOT NULL,
        arch TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        build_id INTEGER NOT NULL,
        keyid TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        envelope TEXT NOT NULL          -- one JSON line of attestations/SUITE/ARCH/PKG_VERSION.intoto.jsonl
      );
      CREATE INDEX attestations_of ON attestations (suite, arch, package, version, id);
    `,
  },
  {
    version: 13,
    name: "maintainers: each current source's Maintainer and Uploaders, from the Sources index",
    sql: `
      -- one row per person of a current source (written by sync, db/maintainers.ts); a source that
      -- leaves the suite loses its rows
      CREATE TABLE maintainers (
        suite TEXT NOT NULL,
        package TEXT NOT NULL,
        email TEXT NOT NULL,            -- lower-cased: a maintainer's identity across packages
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('maintainer', 'uploader')),
        PRIMARY KEY (suite, package, email)
      ) WITHOUT ROWID;
      CREATE INDEX maintainers_email ON maintainers (email, suite, package);
      -- a change names the package (its pages) and the maintainer whose page lists it (email):
      -- after a delete, the log is the only place that still knows whose page to render again
      ALTER TABLE site_changes ADD COLUMN email TEXT;
      CREATE TRIGGER site_maintainers_insert AFTER INSERT ON maintainers BEGIN
        INSERT INTO site_changes (suite, arch, package, email) VALUES (NEW.suite, NULL, NEW.package, NEW.email);
      END;
      CREATE TRIGGER site_maintainers_delete AFTER DELETE ON maintainers BEGIN
        INSERT INTO site_changes (suite, arch, package, email) VALUES (OLD.suite, NULL, OLD.package, OLD.email);
      END;
      -- the indexes synced before are read again by the next sync, which fills the table
      UPDATE sync_state SET sources_sha256 = '';
    `,
  },
  {
    version: 14,
    name: 'notes: the reproducible-notes checkout (packages and issues), marking pages to render',
    sql: `
      -- the last import of packages.yml and issues.yml (db/notes.ts): one row per package and
      -- issue, replaced only where they changed, so a render redoes only the pages they are on
      CREATE TABLE note_issues (
        name TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        url TEXT                        -- http(s) only
      ) WITHOUT ROWID;
      CREATE TABLE notes (
        package TEXT PRIMARY KEY,       -- a source package name, in every suite
        version TEXT,                   -- the version the note was written for
        issues TEXT NOT NULL,           -- JSON array of note_issues names
        bugs TEXT NOT NULL,             -- JSON array of bug numbers
        comments TEXT
      ) WITHOUT ROWID;
      CREATE TABLE notes_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      -- a note is of a package in every suite: its pages are found by name
      CREATE INDEX sources_name ON sources (name);
      CREATE TRIGGER site_notes_insert AFTER INSERT ON notes BEGIN
        INSERT INTO site_changes (suite, arch, package) SELECT suite, NULL, name FROM sources WHERE name = NEW.package;
      END;
      CREATE TRIGGER site_notes_update AFTER UPDATE ON notes BEGIN
        INSERT INTO site_changes (suite, arch, package) SELECT suite, NULL, name FROM sources WHERE name = NEW.package;
      END;
      CREATE TRIGGER site_notes_delete AFTER DELETE ON notes BEGIN
        INSERT INTO site_changes (suite, arch, package) SELECT suite, NULL, name FROM sources WHERE name = OLD.package;
      END;
    `,
  },
  {
    version: 15,
    name: 'culprit searches: an index of the claimed ones, read on every site render',
    sql: `
      -- breakages.html's orphan-order check asks which searches are claimed (db/breakages.ts
      -- claimedKeys): few of many, as schedule_claimed is of the schedule
      CREATE INDEX culprit_searches_claimed ON culprit_searches (claimed_at) WHERE claimed_at IS NOT NULL;
    `,
  },
];
