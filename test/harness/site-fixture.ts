/**
 * A small farm for the site tests: a config, a reproducible.db with a year of
 * history (farm-data.ts), the build logs and a diffoscope report of some
 * current builds under state_dir, node-information files, and hostile text
 * in the places a node or a build can put it (facts, reasons, logs).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../db/index.js';
import { populateFarm } from './farm-data.js';

export const INJECTION = '<script>window.__pwned = 1</script>';
export const IMG_INJECTION = '"><img src=x onerror="window.__pwned=2">';

export interface SiteFixture {
  dir: string;
  config: string;
  stateDir: string;
  siteDir: string;
  dbPath: string;
  /** a package with logs and a diffoscope report in bookworm/amd64 */
  ftbrPackage: string;
}

export const FIXTURE_PACKAGES = [
  'acl',
  'bash',
  'coreutils',
  'dpkg',
  'gcc-12',
  'hello',
  'libc6',
  'libxml2',
  'perl',
  'python3.11',
  'util-linux',
  'zlib',
  'g++-12',
  'libsigc++-2.0',
].map((name, i) => ({ name, version: i % 4 === 0 ? `1:${i}.0~rc1-1` : `${i}.${i}-${(i % 3) + 1}` }));

export function createSiteFixture(opts: { suites?: string[]; arches?: string[] } = {}): SiteFixture {
  const dir = mkdtempSync(join(tmpdir(), 'reprofarm-site-'));
  const stateDir = join(dir, 'state');
  const siteDir = join(dir, 'public');
  const suites = opts.suites ?? ['bookworm', 'trixie'];
  const arches = opts.arches ?? ['amd64', 'arm64'];
  const config = join(dir, 'reprofarm.yaml');
  writeFileSync(
    config,
    [
      'state_dir: ./state',
      'site_dir: ./public',
      `suites: [${suites.join(', ')}]`,
      `architectures: [${arches.join(', ')}]`,
      'nodes:',
      '  node-a: { transport: local, workdir: ./state/nodes/node-a }',
      '  node-b: { transport: local, workdir: ./state/nodes/node-b }',
      '  node-c: { transport: local, workdir: ./state/nodes/node-c }',
      '  node-d: { transport: local, workdir: ./state/nodes/node-d }',
      'jobs:',
      '  reproducible_build_1: { nodes: [node-a, node-b] }',
      '  reproducible_build_2: { nodes: [node-c, node-d] }',
      '',
    ].join('\n'),
  );
  const dbPath = join(stateDir, 'reproducible.db');
  const db = openDb(dbPath);
  populateFarm(db, {
    suites,
    arches,
    packages: FIXTURE_PACKAGES,
    buildsPerPackage: 3,
    end: '2026-11-20T10:00:00.000Z',
    days: 365,
    seed: 7,
    scheduled: 3,
    jobs: [
      { name: 'reproducible_build_1', node1: 'node-a', node2: 'node-b' },
      { name: 'reproducible_build_2', node1: 'node-c', node2: 'node-d' },
    ],
    facts: {
      'node-a': {
        ARCH: 'amd64',
        NUM_CPU: '8',
        CPU_MODEL: 'Intel Xeon',
        KERNEL: 'Linux 6.1.0-20-amd64',
        DATETIME: '2026-11-20T09:50:00Z',
        TZ: 'unset',
        TERM: 'unset',
        COLUMNS: 'unset',
        LANG: 'C.UTF-8',
        HOSTNAME: 'node-a',
        DOMAINNAME: '(none)',
        OS: 'Debian GNU/Linux 12 (bookworm)',
      },
      'node-b': {
        ARCH: 'amd64',
        NUM_CPU: '16',
        CPU_MODEL: INJECTION,
        KERNEL: 'Linux 6.1.0-21-amd64',
        DATETIME: '2027-12-23T16:13:00Z',
        TZ: 'unset',
        TERM: 'unset',
        COLUMNS: 'unset',
        LANG: 'C.UTF-8',
        HOSTNAME: 'node-b',
        DOMAINNAME: '(none)',
        OS: 'Debian GNU/Linux 12 (bookworm)',
      },
      // a job whose nodes are alike: flagged on the variation table
      'node-c': {
        ARCH: 'amd64',
        NUM_CPU: '4',
        CPU_MODEL: 'AMD EPYC',
        KERNEL: 'Linux 6.1.0-28-amd64',
        DATETIME: '2026-11-20T09:50:00Z',
        TZ: 'unset',
        TERM: 'unset',
        COLUMNS: 'unset',
        LANG: 'C.UTF-8',
        HOSTNAME: 'twin',
        DOMAINNAME: '(none)',
        OS: 'Debian GNU/Linux 12 (bookworm)',
      },
      'node-d': {
        ARCH: 'amd64',
        NUM_CPU: '4',
        CPU_MODEL: 'AMD EPYC',
        KERNEL: 'Linux 6.1.0-28-amd64',
        DATETIME: '2026-11-20T09:50:00Z',
        TZ: 'unset',
        TERM: 'unset',
        COLUMNS: 'unset',
        LANG: 'C.UTF-8',
        HOSTNAME: 'twin',
        DOMAINNAME: '(none)',
        OS: 'Debian GNU/Linux 12 (bookworm)',
      },
    },
  });
  // one FTBR package with logs, a diffoscope report and a hostile reason, as the orchestrator records them
  const ftbr = 'hello';
  const r = db.sql
    .prepare(
      `SELECT r.build_id AS id, r.version, br.node, br.build_number FROM results r JOIN build_runs br ON br.build_id = r.build_id
    WHERE r.suite = 'bookworm' AND r.arch = 'amd64' AND r.package = ?`,
    )
    .all(ftbr) as { id: number; version: string; node: string; build_number: number }[];
  if (r.length !== 2) throw new Error(`fixture: ${ftbr} has no current build in bookworm/amd64`);
  const version = r[0]?.version ?? '';
  const reportBase = join(stateDir, 'reports', 'bookworm', 'amd64', `${ftbr}_${version}`);
  mkdirSync(join(stateDir, 'reports', 'bookworm', 'amd64'), { recursive: true });
  writeFileSync(`${reportBase}.diffoscope.txt`, `--- a\n+++ b\n${INJECTION}\n`);
  writeFileSync(
    `${reportBase}.diffoscope.html`,
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>diffoscope</title></head><body><p>differences</p></body></html>\n',
  );
  db.sql
    .prepare("UPDATE builds SET status = 'FTBR', reason = ?, report = ? WHERE id = ?")
    .run(`the .deb files differ ${IMG_INJECTION}`, `${reportBase}.diffoscope.txt`, r[0]?.id);
  db.sql.prepare("UPDATE results SET status = 'FTBR' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(ftbr);
  for (const run of r) {
    const d = join(stateDir, 'results', run.node, 'bookworm', 'amd64', ftbr, version);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'build.log'), `dpkg-buildpackage: info: source package ${ftbr}\n${INJECTION}\nbuild ${run.build_number} done\n`);
  }
  // its culprit verdict from the hints, with hostile evidence as a package's diff would carry it
  const hints = [{ variation: 'DOMAINNAME', category: 'domain-name', file: `${ftbr}.deb/usr/share/doc/${ftbr}/built-on`, evidence: `+${INJECTION}` }];
  db.sql
    .prepare(
      `INSERT INTO culprit_searches (suite, arch, package, version, build_id, job, state, verdict, culprits, source, hints, created_at, updated_at)
      VALUES ('bookworm', 'amd64', ?, ?, ?, 'reproducible_build_1', 'done', 'culprits', '["DOMAINNAME"]', 'hints', ?, ?, ?)`,
    )
    .run(ftbr, version, r[0]?.id, JSON.stringify(hints), '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z');
  db.close();
  mkdirSync(join(stateDir, 'node-information'), { recursive: true });
  for (const n of ['node-a', 'node-b', 'node-c', 'node-d'])
    writeFileSync(join(stateDir, 'node-information', n), `ARCH=amd64\nHOSTNAME=${n}\nCPU_MODEL=${INJECTION}\n`);
  return { dir, config, stateDir, siteDir, dbPath, ftbrPackage: ftbr };
}
