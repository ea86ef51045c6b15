/**
 * What the site builder reads from reproducible.db. Everything here is a
 * read, except the change-log bookkeeping (`markRendered`, now and then). The caller wraps a
 * whole render in `snapshot()` so that every page comes from one consistent
 * state of the DB, while builds keep being recorded (WAL readers never block
 * writers).
 */
import type Database from 'better-sqlite3';
import type { FarmDb } from './index.js';
import { allIssues, notesOf, type NoteData } from './notes.js';

type Stmt = Database.Statement<unknown[], unknown>;

export interface SourceRow {
  name: string;
  version: string;
  architecture: string;
}

export interface ResultRow {
  package: string;
  version: string;
  status: string;
  build_date: string;
  node1: string | null;
  node2: string | null;
  job: string | null;
  build_duration: number | null;
  build_id: number | null;
}

export interface BuildRow {
  id: number;
  package: string;
  version: string;
  status: string;
  build_date: string;
  job: string | null;
  node1: string | null;
  node2: string | null;
  duration: number | null;
  reason: string | null;
  report: string | null;
  /** a depwait's unsatisfiable build dependencies */
  unmet?: string | null;
}

export interface RunRow {
  build_id: number;
  build_number: number;
  node: string;
  started_at: string;
  duration: number;
  exit_code: number | null;
  result: string;
  variations: string;
  not_applied: string;
}

/** Everything one package page shows, for one suite and architecture. */
export interface PackageData {
  suite: string;
  arch: string;
  source: SourceRow;
  result: ResultRow | undefined;
  /** the current result's build, with its two runs */
  current: (BuildRow & { runs: RunRow[] }) | undefined;
  /** newest first, at most `historyLimit` */
  history: BuildRow[];
  /** how many builds there are in all (history may be cut) */
  builds: number;
  /** an FTBR's culprit search, when it is of the current result's version */
  culprit?: CulpritData;
  /** the package's reproducible-notes entry, when it has one */
  note?: NoteData;
  /** the issues notes_dir defines (names), for linking a culprit verdict to one */
  issues?: ReadonlySet<string>;
}

/** A package's culprit search as the site shows it (tables culprit_searches and culprit_steps, db/culprits.ts). */
export interface CulpritData {
  version: string;
  state: string;
  verdict: string | null;
  /** JSON texts, as stored: variation keys; [{variation, category, file, evidence}]; [{category, variation, file, evidence}] */
  culprits: string;
  source: string | null;
  why: string | null;
  hints: string;
  categories: string;
  builds: number;
  steps: CulpritStepRow[];
}

export interface CulpritStepRow {
  step: number;
  kind: string;
  /** JSON: the keys given build 2's value */
  variations: string;
  node: string;
  started_at: string;
  duration: number;
  outcome: string;
  reason: string | null;
}

export interface Change {
  suite: string;
  arch: string | null;
  package: string;
}

export interface ListRow {
  package: string;
  version: string;
  status: string;
  build_date: string | null;
  /** a depwait's unsatisfiable build dependencies (builds.unmet of its build), else null */
  unmet?: string | null;
  /** an FTBR's culprit search of its version (else null): its state, verdict, culprits (JSON), source and follow-up builds */
  culprit_state?: string | null;
  verdict?: string | null;
  culprits?: string | null;
  culprit_source?: string | null;
  culprit_builds?: number | null;
}

/** The listing: every current source with its result on an architecture; a depwait with its build's unmet dependencies. */
const LISTING_SQL = `SELECT s.name AS package, COALESCE(r.version, s.version) AS version, COALESCE(r.status, 'untested') AS status, r.build_date,
      b.unmet AS unmet
      FROM sources s LEFT JOIN results r ON r.suite = s.suite AND r.arch = ? AND r.package = s.name
      LEFT JOIN builds b ON r.status = 'depwait' AND b.id = r.build_id
      WHERE s.suite = ? AND s.removed_at IS NULL`;

/** A suite/arch's culprit searches, for the listing's FTBR rows (joined in JavaScript: see withCulprits). */
const LISTING_CULPRITS_SQL = `SELECT package, version, state, verdict, culprits, source, builds FROM culprit_searches WHERE suite = ? AND arch = ?`;

interface CulpritListRow {
  package: string;
  version: string;
  state: string;
  verdict: string | null;
  culprits: string;
  source: string | null;
  builds: number;
}

export interface ScheduleRow {
  package: string;
  version: string;
  priority: number;
  reason: string;
  scheduled_at: string;
  scheduled_by: string;
  claimed_by: string | null;
  claimed_at: string | null;
  /** 1 when the package is a current source of the suite (its page exists) */
  current: number;
}

export interface NodeSiteRow {
  name: string;
  health: string;
  health_reason: string | null;
  last_attempt_at: string | null;
  last_collected_at: string | null;
  clock_offset_s: number | null;
  arch: string | null;
}

export interface NodeBuildStats {
  node: string;
  builds_24h: number;
  avg_duration_7d: number | null;
  builds_7d: number;
}

export interface DailyRow {
  day: string;
  status: string;
  n: number;
}

export const HISTORY_LIMIT = 100;

export class SiteReader {
  private readonly stmts = new Map<string, Stmt>();
  private readonly rawStmts = new Map<string, Stmt>();

  constructor(readonly db: FarmDb) {}

  private q(sql: string): Stmt {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.sql.prepare<unknown[], unknown>(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /**
   * A statement whose rows come as arrays (better-sqlite3's raw mode): for rows
   * of many columns (a package batch's results, history and runs), building the
   * objects in JavaScript costs about a quarter less than better-sqlite3 building
   * them; for three or four columns it does not pay.
   */
  private raw(sql: string): Stmt {
    let s = this.rawStmts.get(sql);
    if (!s) {
      s = this.db.sql.prepare<unknown[], unknown>(sql).raw(true);
      this.rawStmts.set(sql, s);
    }
    return s;
  }

  /** Run `fn` inside one read transaction: every query sees the same state of the DB. */
  snapshot<T>(fn: () => T): T {
    if (this.db.sql.inTransaction) return fn();
    this.db.sql.exec('BEGIN');
    try {
      // the first read fixes the snapshot
      this.q('SELECT 1 FROM schema_migrations LIMIT 1').get();
      return fn();
    } finally {
      this.db.sql.exec('COMMIT');
    }
  }

  /** The highest change number ever handed out (0: none). */
  changeSeq(): number {
    const r = this.q("SELECT seq FROM sqlite_sequence WHERE name = 'site_changes'").get() as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  /** Changes up to this number have been pruned: a site rendered before it must render everything. */
  prunedThrough(): number {
    const r = this.q("SELECT value FROM site_meta WHERE key = 'pruned_through'").get() as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  changesBetween(after: number, upTo: number): Change[] {
    return this.q('SELECT DISTINCT suite, arch, package FROM site_changes WHERE seq > ? AND seq <= ? ORDER BY suite, arch, package').all(
      after,
      upTo,
    ) as Change[];
  }

  /** The newest timestamp the DB holds: the site's "now", so that the same DB renders the same bytes. */
  asOf(): string | null {
    const r = this.q(
      `SELECT MAX(t) AS t FROM (
      SELECT MAX(build_date) AS t FROM builds
      UNION ALL SELECT MAX(started_at) FROM collections
      UNION ALL SELECT MAX(synced_at) FROM sync_state
      UNION ALL SELECT MAX(scheduled_at) FROM schedule
      UNION ALL SELECT MAX(claimed_at) FROM schedule)`,
    ).get() as { t: string | null };
    return r.t;
  }

  /** Current (not removed) sources of a suite, by name. */
  sourceNames(suite: string): string[] {
    return this.q('SELECT name FROM sources WHERE suite = ? AND removed_at IS NULL ORDER BY name').pluck().all(suite) as string[];
  }

  /**
   * Every current source of a suite with its result on an architecture (untested: no result), by name;
   * an FTBR with its culprit search, when that is of the result's version.
   */
  listing(suite: string, arch: string): ListRow[] {
    const rows = this.q(`${LISTING_SQL} ORDER BY s.name`).all(arch, suite) as ListRow[];
    return this.withCulprits(rows, this.q(LISTING_CULPRITS_SQL).all(suite, arch) as CulpritListRow[]);
  }

  /** The listing's rows of the named packages (those that are current sources of the suite), by name. */
  listingOf(suite: string, arch: string, names: readonly string[]): ListRow[] {
    const list = JSON.stringify(names);
    const rows = this.q(`${LISTING_SQL} AND s.name IN (SELECT value FROM json_each(?)) ORDER BY s.name`).all(arch, suite, list) as ListRow[];
    const culprits = this.q(`${LISTING_CULPRITS_SQL} AND package IN (SELECT value FROM json_each(?))`).all(suite, arch, list) as CulpritListRow[];
    return this.withCulprits(rows, culprits);
  }

  /**
   * The FTBR rows get their search's fields (null: none of their version). Joined here, not in SQL: a
   * LEFT JOIN probes culprit_searches for every source and makes every row wider, a full render's
   * listings about 60 ms slower each at Debian scale; this reads the few thousand searches once.
   */
  private withCulprits(rows: ListRow[], culprits: readonly CulpritListRow[]): ListRow[] {
    const by = new Map(culprits.map((c) => [c.package, c]));
    for (const r of rows) {
      if (r.status !== 'FTBR') continue;
      const c = by.get(r.package);
      const of = c?.version === r.version ? c : undefined;
      r.culprit_state = of?.state ?? null;
      r.verdict = of?.verdict ?? null;
      r.culprits = of?.culprits ?? null;
      r.culprit_source = of?.source ?? null;
      r.culprit_builds = of?.builds ?? null;
    }
    return rows;
  }

  /** A suite/arch's schedule: building first (oldest claim first), then by priority and age. */
  schedule(suite: string, arch: string): ScheduleRow[] {
    return this.q(
      `SELECT sc.package, sc.version, sc.priority, sc.reason, sc.scheduled_at, sc.scheduled_by, sc.claimed_by, sc.claimed_at,
        (so.name IS NOT NULL) AS current
      FROM schedule sc LEFT JOIN sources so ON so.suite = sc.suite AND so.name = sc.package AND so.removed_at IS NULL
      WHERE sc.suite = ? AND sc.arch = ? ORDER BY sc.claimed_at IS NULL, sc.claimed_at, sc.priority DESC, sc.scheduled_at, sc.package`,
    ).all(suite, arch) as ScheduleRow[];
  }

  /** Per suite/arch (`suite\0arch`), a number that moves whenever its schedule changes. */
  scheduleVersions(): Map<string, number> {
    const rows = this.q('SELECT suite, arch, version FROM schedule_versions').all() as { suite: string; arch: string; version: number }[];
    return new Map(rows.map((r) => [`${r.suite}\0${r.arch}`, r.version]));
  }

  daily(suite: string, arch: string, fromDay: string): DailyRow[] {
    return this.q('SELECT day, status, n FROM daily_builds WHERE suite = ? AND arch = ? AND day >= ? ORDER BY day, status').all(
      suite,
      arch,
      fromDay,
    ) as DailyRow[];
  }

  nodes(): NodeSiteRow[] {
    return this.q(
      'SELECT name, health, health_reason, last_attempt_at, last_collected_at, clock_offset_s, arch FROM nodes ORDER BY name',
    ).all() as NodeSiteRow[];
  }

  /** The facts of a node's newest successful collection, with when it was taken. */
  latestFacts(node: string): { at: string; facts: Map<string, string> } | undefined {
    const c = this.q('SELECT id, started_at FROM collections WHERE node = ? AND ok = 1 ORDER BY started_at DESC, id DESC LIMIT 1').get(node) as
      { id: number; started_at: string } | undefined;
    if (!c) return undefined;
    const rows = this.q('SELECT key, value FROM facts WHERE collection_id = ? ORDER BY key').all(c.id) as { key: string; value: string }[];
    return { at: c.started_at, facts: new Map(rows.map((r) => [r.key, r.value])) };
  }

  /**
   * Single builds per node started in the 24 h before `asOf`, and their
   * average duration over 7 days: whole hours from node_hours, the hour each
   * window begins in from the runs themselves (started_at is ISO 8601 UTC).
   */
  nodeBuildStats(asOf: string): NodeBuildStats[] {
    const t = Date.parse(asOf);
    const day = new Date(t - 86_400_000).toISOString();
    const week = new Date(t - 7 * 86_400_000).toISOString();
    const hour = (iso: string): string => iso.slice(0, 13);
    const nextHour = (iso: string): string => new Date(Date.parse(`${hour(iso)}:00:00.000Z`) + 3_600_000).toISOString().slice(0, 13);
    return this.q(
      `SELECT node, SUM(b24) AS builds_24h, SUM(d7) / SUM(n7) AS avg_duration_7d, SUM(n7) AS builds_7d FROM (
        SELECT node, CASE WHEN hour > @dayHour THEN runs ELSE 0 END AS b24, runs AS n7, duration AS d7 FROM node_hours WHERE hour > @weekHour
        UNION ALL SELECT node, 1, 0, 0 FROM build_runs INDEXED BY build_runs_started WHERE started_at > @day AND started_at < @dayNext
        UNION ALL SELECT node, 0, 1, duration FROM build_runs INDEXED BY build_runs_started WHERE started_at > @week AND started_at < @weekNext)
      GROUP BY node HAVING SUM(n7) > 0 ORDER BY node`,
    ).all({
      day,
      week,
      dayHour: hour(day),
      weekHour: hour(week),
      dayNext: nextHour(day),
      weekNext: nextHour(week),
    }) as NodeBuildStats[];
  }

  /**
   * Which builds a job's newest `limit` are, in a few bytes: the newest id,
   * the oldest id and how many. The runs of a build never change once
   * recorded, and ids only grow (the newest build is never pruned), so the
   * same window means the same runs.
   */
  recentWindow(job: string, limit: number): string {
    const w = this.q(
      `SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM (
        SELECT id FROM builds INDEXED BY builds_job WHERE job = ? ORDER BY id DESC LIMIT ?)`,
    ).get(job, limit) as { n: number; lo: number | null; hi: number | null };
    return `${w.n}:${w.lo ?? 0}:${w.hi ?? 0}`;
  }

  /** A job's newest builds' single runs, newest first. */
  recentRuns(job: string, limit: number): RunRow[] {
    return this.q(
      `SELECT br.* FROM build_runs br WHERE br.build_id IN (
        SELECT id FROM builds INDEXED BY builds_job WHERE job = ? ORDER BY id DESC LIMIT ?)
      ORDER BY br.build_id DESC, br.build_number`,
    ).all(job, limit) as RunRow[];
  }

  /**
   * Package pages' data for the named packages (current sources of the suite
   * only; a name that is not one is left out), in the order given.
   */
  packages(suite: string, arch: string, names: readonly string[], historyLimit = HISTORY_LIMIT): PackageData[] {
    if (names.length === 0) return [];
    const list = JSON.stringify(names);
    const src = new Map(this.sourcesOf(suite, list).map((x) => [x.name, x]));
    const res = new Map(this.resultsOf(suite, arch, list).map((r) => [r.package, r]));
    const hist = groupBy(this.historyOf(suite, arch, list), (b) => b.package);
    const runsBy = groupBy(this.currentRunsOf(suite, arch, list), (r) => r.build_id);
    const culprits = this.culpritsOf(suite, arch, list);
    const notes = notesOf(this.db, list);
    const issues = this.issueNames();
    const out: PackageData[] = [];
    for (const name of names) {
      const source = src.get(name);
      if (!source) continue;
      const result = res.get(name);
      const all = hist.get(name) ?? [];
      const cur = result?.build_id != null ? all.find((b) => b.id === result.build_id) : undefined;
      out.push({
        suite,
        arch,
        source,
        result,
        // fields named, not spread: V8 makes an object spread into a literal slowly (about 2.5 µs here, against 0.1)
        current: cur
          ? {
              id: cur.id,
              package: cur.package,
              version: cur.version,
              status: cur.status,
              build_date: cur.build_date,
              job: cur.job,
              node1: cur.node1,
              node2: cur.node2,
              duration: cur.duration,
              reason: cur.reason,
              report: cur.report,
              unmet: cur.unmet,
              runs: runsBy.get(cur.id) ?? [],
            }
          : undefined,
        history: all.slice(0, historyLimit),
        builds: all.length,
        culprit: culprits.get(name),
        note: notes.get(name),
        issues,
      });
    }
    return out;
  }

  private issues: ReadonlySet<string> | undefined;
  /** The notes' issue names, read once per reader (it reads one snapshot per render). */
  issueNames(): ReadonlySet<string> {
    this.issues ??= new Set(allIssues(this.db).map((i) => i.name));
    return this.issues;
  }

  /** The culprit searches of the packages' current FTBR versions, with their steps (a package without one is not in the map). */
  private culpritsOf(suite: string, arch: string, list: string): Map<string, CulpritData> {
    const rows = this.q(
      `SELECT cs.package, cs.version, cs.state, cs.verdict, cs.culprits, cs.source, cs.why, cs.hints, cs.categories, cs.builds
      FROM culprit_searches cs JOIN results r ON r.suite = cs.suite AND r.arch = cs.arch AND r.package = cs.package AND r.version = cs.version
      WHERE cs.suite = ? AND cs.arch = ? AND cs.package IN (SELECT value FROM json_each(?)) AND r.status = 'FTBR'`,
    ).all(suite, arch, list) as (Omit<CulpritData, 'steps'> & { package: string })[];
    const out = new Map<string, CulpritData>();
    if (rows.length === 0) return out;
    const steps = groupBy(
      this.q(
        `SELECT package, version, step, kind, variations, node, started_at, duration, outcome, reason FROM culprit_steps
        WHERE suite = ? AND arch = ? AND package IN (SELECT value FROM json_each(?)) ORDER BY package, step`,
      ).all(suite, arch, JSON.stringify(rows.map((r) => r.package))) as (CulpritStepRow & { package: string; version: string })[],
      (st) => `${st.package}\0${st.version}`,
    );
    for (const r of rows) {
      out.set(r.package, {
        version: r.version,
        state: r.state,
        verdict: r.verdict,
        culprits: r.culprits,
        source: r.source,
        why: r.why,
        hints: r.hints,
        categories: r.categories,
        builds: r.builds,
        // a step of another version is an older search's (db/culprits.ts drops them, but the page never mixes them)
        steps: steps.get(`${r.package}\0${r.version}`) ?? [],
      });
    }
    return out;
  }

  private sourcesOf(suite: string, list: string): SourceRow[] {
    return this.q(
      `SELECT name, version, architecture FROM sources
      WHERE suite = ? AND removed_at IS NULL AND name IN (SELECT value FROM json_each(?))`,
    ).all(suite, list) as SourceRow[];
  }

  // the raw rows (arrays) and a mapping by hand: a few times faster than objects for thousands of rows
  private resultsOf(suite: string, arch: string, list: string): ResultRow[] {
    return (
      this.raw(
        `SELECT package, version, status, build_date, node1, node2, job, build_duration, build_id FROM results
      WHERE suite = ? AND arch = ? AND package IN (SELECT value FROM json_each(?))`,
      ).all(suite, arch, list) as unknown[][]
    ).map((r): ResultRow => ({
      package: r[0] as string,
      version: r[1] as string,
      status: r[2] as string,
      build_date: r[3] as string,
      node1: r[4] as string | null,
      node2: r[5] as string | null,
      job: r[6] as string | null,
      build_duration: r[7] as number | null,
      build_id: r[8] as number | null,
    }));
  }

  /** Every build of the packages, newest first per package. */
  private historyOf(suite: string, arch: string, list: string): BuildRow[] {
    return (
      this.raw(
        `SELECT id, package, version, status, build_date, job, node1, node2, duration, reason, report, unmet FROM builds
      WHERE suite = ? AND arch = ? AND package IN (SELECT value FROM json_each(?)) ORDER BY package, build_date DESC, id DESC`,
      ).all(suite, arch, list) as unknown[][]
    ).map((r): BuildRow => ({
      id: r[0] as number,
      package: r[1] as string,
      version: r[2] as string,
      status: r[3] as string,
      build_date: r[4] as string,
      job: r[5] as string | null,
      node1: r[6] as string | null,
      node2: r[7] as string | null,
      duration: r[8] as number | null,
      reason: r[9] as string | null,
      report: r[10] as string | null,
      unmet: r[11] as string | null,
    }));
  }

  /** The single runs of the packages' current builds. */
  private currentRunsOf(suite: string, arch: string, list: string): RunRow[] {
    return (
      this.raw(
        `SELECT br.build_id, br.build_number, br.node, br.started_at, br.duration, br.exit_code, br.result, br.variations, br.not_applied
      FROM results r JOIN build_runs br ON br.build_id = r.build_id
      WHERE r.suite = ? AND r.arch = ? AND r.package IN (SELECT value FROM json_each(?)) ORDER BY br.build_id, br.build_number`,
      ).all(suite, arch, list) as unknown[][]
    ).map((r): RunRow => ({
      build_id: r[0] as number,
      build_number: r[1] as number,
      node: r[2] as string,
      started_at: r[3] as string,
      duration: r[4] as number,
      exit_code: r[5] as number | null,
      result: r[6] as string,
      variations: r[7] as string,
      not_applied: r[8] as string,
    }));
  }

  /**
   * After a render: drop the changes it has rendered, once there are `atLeast`
   * of them. Most renders write nothing to the DB: a write costs a WAL sync,
   * and the log costs little to keep for a while.
   */
  markRendered(seq: number, atLeast = 1): void {
    const sql = this.db.sql;
    const oldest = (this.q('SELECT MIN(seq) AS s FROM site_changes').get() as { s: number | null }).s;
    if (oldest === null || seq - oldest + 1 < atLeast) return;
    sql
      .transaction(() => {
        sql.prepare('DELETE FROM site_changes WHERE seq <= ?').run(seq);
        sql
          .prepare(
            `INSERT INTO site_meta (key, value) VALUES ('pruned_through', ?)
        ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`,
          )
          .run(String(seq));
      })
      .immediate();
  }
}

/** Rows grouped by a key, in their order. */
function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const r of rows) {
    const k = key(r);
    let l = out.get(k);
    if (!l) out.set(k, (l = []));
    l.push(r);
  }
  return out;
}
