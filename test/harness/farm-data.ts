/**
 * A farm's history, written straight into reproducible.db: sources, a year of
 * builds with their single runs, current results, node collections and a
 * schedule. Deterministic for a given seed. Used by the site tests (small)
 * and the site benchmark (Debian scale). The SQL follows the schema the
 * migrations create; the DB's own triggers keep the change log and the
 * per-day counts.
 */
import type { FarmDb } from '../../db/index.js';

export interface FarmDataOptions {
  suites: string[];
  arches: string[];
  packages: { name: string; version: string; architecture?: string }[];
  /** average builds per package, suite and architecture over the period */
  buildsPerPackage: number;
  /** history ends here (ISO) and goes back `days` */
  end: string;
  days: number;
  jobs: { name: string; node1: string; node2: string }[];
  seed?: number;
  /** scheduled entries per suite and architecture (a few of them claimed) */
  scheduled?: number;
  /** facts per node, else plausible defaults */
  facts?: Record<string, Record<string, string>>;
}

export interface FarmDataSummary {
  sources: number;
  builds: number;
  runs: number;
  results: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OUTCOMES: [string, number][] = [
  ['reproducible', 0.8],
  ['FTBR', 0.12],
  ['FTBFS', 0.05],
  ['depwait', 0.01],
  ['E404', 0.005],
  ['timeout', 0.01],
  ['source-mismatch', 0.005],
];

function pick(r: number): string {
  let acc = 0;
  for (const [s, p] of OUTCOMES) {
    acc += p;
    if (r < acc) return s;
  }
  return 'reproducible';
}

function variations(n: 1 | 2, pkg: string, version: string): string {
  const v =
    n === 1
      ? {
          TZ: 'Etc/GMT+12',
          LANG: 'C',
          LC_ALL: 'unset',
          LANGUAGE: 'en_US:en',
          TERM: 'unset',
          COLUMNS: 'unset',
          UMASK: '0022',
          HOME: '/nonexistent/first-build',
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
          CAPTURE_ENVIRONMENT: 'unset',
          BUILD_PATH: `/srv/workspace/build/1st/${pkg}-${version}`,
          PARALLEL: '16',
          KERNEL: 'Linux 6.1.0-28-amd64',
          NICE: '10',
          HOSTNAME: 'build1',
          DOMAINNAME: '(none)',
          DATE: 'real clock',
        }
      : {
          TZ: 'Etc/GMT-14',
          LANG: 'et_EE.UTF-8',
          LC_ALL: 'et_EE.UTF-8',
          LANGUAGE: 'et_EE:et',
          TERM: 'linux',
          COLUMNS: '77',
          UMASK: '0002',
          HOME: '/nonexistent/second-build',
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin:/i/capture/the/path',
          CAPTURE_ENVIRONMENT: 'I capture the environment',
          BUILD_PATH: `/srv/workspace/build/2/${pkg}-${version}/2nd`,
          PARALLEL: '15',
          KERNEL: 'Linux 6.1.0-28-amd64',
          NICE: '10',
          HOSTNAME: 'i-capture-the-hostname',
          DOMAINNAME: 'i-capture-the-domain',
          DATE: 'faketime +398days+6hours+23minutes (NO_FAKE_STAT=1)',
        };
  return JSON.stringify(v);
}

export function populateFarm(db: FarmDb, o: FarmDataOptions): FarmDataSummary {
  const sql = db.sql;
  const rand = rng(o.seed ?? 1);
  const end = Date.parse(o.end);
  const start = end - o.days * 86_400_000;
  const iso = (t: number): string => new Date(t).toISOString();
  const summary: FarmDataSummary = { sources: 0, builds: 0, runs: 0, results: 0 };
  const insSource =
    sql.prepare(`INSERT INTO sources (suite, name, version, architecture, directory, dsc_name, dsc_sha256, dsc_size, first_seen, version_seen, removed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`);
  const insBuild = sql.prepare(`INSERT INTO builds (suite, arch, package, version, status, build_date, job, node1, node2, duration, reason, report)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`);
  const insRun = sql.prepare(`INSERT INTO build_runs (build_id, build_number, node, started_at, duration, exit_code, result, variations, not_applied)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')`);
  const insResult = sql.prepare(`INSERT INTO results (suite, arch, package, version, status, build_date, node1, node2, job, build_duration, build_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insSchedule =
    sql.prepare(`INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at, manual, claimed_by, claimed_at)
    VALUES (?, ?, ?, ?, ?, ?, 'sync', ?, 0, ?, ?)`);
  const sha = '0'.repeat(64);
  sql.transaction(() => {
    for (const suite of o.suites) {
      for (const p of o.packages) {
        const first = iso(start - rand() * 365 * 86_400_000);
        insSource.run(
          suite,
          p.name,
          p.version,
          p.architecture ?? 'any',
          `pool/main/${p.name.startsWith('lib') ? p.name.slice(0, 4) : p.name[0]}/${p.name}`,
          `${p.name}_${p.version.replace(/^\d+:/, '')}.dsc`,
          sha,
          1000 + Math.floor(rand() * 5000),
          first,
          first,
        );
        summary.sources++;
      }
      for (const arch of o.arches) {
        let sched = 0;
        for (const p of o.packages) {
          const r = rand();
          if (r < 0.02) {
            insResult.run(suite, arch, p.name, p.version, 'NFU', iso(start), null, null, null, null, null);
            summary.results++;
            continue;
          }
          if (r < 0.05) {
            if (sched < (o.scheduled ?? 0)) {
              const claimed = sched < 4 && o.jobs.length > 0;
              insSchedule.run(
                suite,
                arch,
                p.name,
                p.version,
                100,
                'untested',
                iso(end - 3_600_000 * (sched + 1)),
                claimed ? (o.jobs[sched % o.jobs.length] as { name: string }).name : null,
                claimed ? iso(end - 60_000 * (sched + 1)) : null,
              );
              sched++;
            }
            continue; // untested
          }
          const n = Math.max(1, Math.round(o.buildsPerPackage * (0.5 + rand())));
          let last: { id: number; status: string; date: string; job: string; n1: string; n2: string; dur: number } | undefined;
          for (let i = 0; i < n; i++) {
            const t = start + ((i + rand()) / n) * (end - start);
            const status = pick(rand());
            const job = o.jobs[Math.floor(rand() * o.jobs.length)] ?? { name: 'job', node1: 'n1', node2: 'n2' };
            const d1 = 30 + rand() * 900;
            const d2 = d1 * (0.9 + rand() * 0.3);
            const dur = d1 + d2 + 5;
            const date = iso(t);
            const id = Number(
              insBuild.run(
                suite,
                arch,
                p.name,
                p.version,
                status,
                date,
                job.name,
                job.node1,
                job.node2,
                dur,
                status === 'FTBR'
                  ? 'the .deb files differ: ' + p.name + '_' + p.version + '_' + arch + '.deb'
                  : status === 'FTBFS'
                    ? 'build 1 failed (exit 2)'
                    : null,
              ).lastInsertRowid,
            );
            insRun.run(
              id,
              1,
              job.node1,
              iso(t - (d1 + d2) * 1000),
              d1,
              status === 'FTBFS' ? 2 : 0,
              status === 'FTBFS' ? 'FTBFS' : 'built',
              variations(1, p.name, p.version),
            );
            insRun.run(id, 2, job.node2, iso(t - d2 * 1000), d2, 0, 'built', variations(2, p.name, p.version));
            summary.builds++;
            summary.runs += 2;
            last = { id, status, date, job: job.name, n1: job.node1, n2: job.node2, dur };
          }
          if (last) {
            insResult.run(suite, arch, p.name, p.version, last.status, last.date, last.n1, last.n2, last.job, last.dur, last.id);
            summary.results++;
          }
        }
      }
    }
    // nodes and their facts
    const nodes = [...new Set(o.jobs.flatMap((j) => [j.node1, j.node2]))].sort();
    const insNode = sql.prepare(`INSERT INTO nodes (name, health, health_reason, last_attempt_at, last_collected_at, clock_offset_s, arch)
      VALUES (?, 'ok', NULL, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`);
    const insColl = sql.prepare(
      `INSERT INTO collections (node, started_at, duration_ms, ok, health, reason, error_kind, clock_offset_s) VALUES (?, ?, 40, 1, 'ok', NULL, NULL, ?)`,
    );
    const insFact = sql.prepare('INSERT INTO facts (collection_id, key, value) VALUES (?, ?, ?)');
    nodes.forEach((node, i) => {
      const offset = i % 2 === 1 ? 398 * 86400 + 6 * 3600 + 23 * 60 : 0;
      const at = iso(end - 600_000);
      insNode.run(node, at, at, offset, o.arches[0] ?? 'amd64');
      const cid = insColl.run(node, at, offset).lastInsertRowid;
      const facts = o.facts?.[node] ?? {
        ARCH: o.arches[0] ?? 'amd64',
        NUM_CPU: String(8 + (i % 3) * 8),
        CPU_MODEL: i % 2 ? 'AMD EPYC 7702' : 'Intel Xeon E5-2630',
        KERNEL: `Linux 6.1.0-${20 + (i % 4)}-amd64`,
        DATETIME: iso(end - 600_000 + offset * 1000).replace(/\.\d{3}Z$/, 'Z'),
        TZ: 'unset',
        TERM: 'unset',
        COLUMNS: 'unset',
        LANG: 'C.UTF-8',
        HOSTNAME: node,
        DOMAINNAME: '(none)',
        OS: 'Debian GNU/Linux 12 (bookworm)',
      };
      for (const [k, v] of Object.entries(facts)) insFact.run(cid, k, v);
    });
  })();
  return summary;
}

/** One source of sid and its schedule entry for amd64, as sync and `schedule` would write them (unit and integration tests). */
export function scheduleSource(db: FarmDb, pkg: string, version: string, at: string): void {
  db.sql
    .prepare(
      `INSERT INTO sources (suite, name, version, architecture, directory, dsc_name, dsc_sha256, dsc_size, first_seen, version_seen)
      VALUES ('sid', ?, ?, 'any', 'pool/main/x', 'x.dsc', ?, 1, ?, ?) ON CONFLICT (suite, name) DO UPDATE SET version = excluded.version`,
    )
    .run(pkg, version, 'a'.repeat(64), at, at);
  db.sql
    .prepare(
      "INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at) VALUES ('sid', 'amd64', ?, ?, 100, 'test', 'test', ?)",
    )
    .run(pkg, version, at);
}
