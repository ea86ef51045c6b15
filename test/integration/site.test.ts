/**
 * The site builder over a real reproducible.db, through the installed CLI:
 * every page there, deterministic bytes, incremental renders equal to full
 * ones, removals, the lock, and the small server.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUSES } from '../../core/statuses.js';
import { openDb, type FarmDb } from '../../db/index.js';
import { recordBuild } from '../../db/builds.js';
import { claimSearch, recordStep, type SearchStart } from '../../db/culprits.js';
import { newPlan } from '../../culprit/search.js';
import { serveSite, type ServeHandle } from '../../site/serve.js';
import { createSiteFixture, FIXTURE_PACKAGES, IMG_INJECTION, INJECTION, type SiteFixture } from '../harness/site-fixture.js';
import { diffTrees, tree } from '../harness/site-trees.js';
import { runCli } from '../helpers/cli.js';

interface SiteJson {
  mode: string;
  why: string;
  package_pages: number;
  status_pages: number;
  status_units_spliced: number;
  removed: number;
}

async function site(f: SiteFixture, ...extra: string[]): Promise<SiteJson> {
  const r = await runCli(['--config', f.config, '--json', 'site', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as SiteJson;
}

/** A second config on the same state_dir, rendering into another site_dir. */
function otherSite(f: SiteFixture, name: string, edit: (text: string) => string = (t) => t): string {
  const cfg = join(f.dir, `${name}.yaml`);
  writeFileSync(cfg, edit(readFileSync(f.config, 'utf8').replace('site_dir: ./public', `site_dir: ./${name}`)));
  return cfg;
}

/** A build of one package claimed and recorded as the orchestrator does, at `when`, with one single build on node-a. */
function recordAt(
  db: FarmDb,
  b: {
    suite: string;
    arch: string;
    package: string;
    version: string;
    status: string;
    reason: string;
    when: Date;
    exitCode?: number;
    variations?: Record<string, string>;
    culprit?: SearchStart;
  },
): void {
  const at = b.when.toISOString();
  const id = Number(
    db.sql
      .prepare(
        `INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at, claimed_by, claimed_at)
    VALUES (?, ?, ?, ?, 100, 'manual', 'test', ?, 'reproducible_build_1', ?)`,
      )
      .run(b.suite, b.arch, b.package, b.version, at, at).lastInsertRowid,
  );
  recordBuild(
    db,
    {
      id,
      suite: b.suite,
      arch: b.arch,
      package: b.package,
      version: b.version,
      priority: 100,
      reason: 'manual',
      claimed_by: 'reproducible_build_1',
      claimed_at: at,
    },
    {
      status: b.status as 'FTBR',
      job: 'reproducible_build_1',
      node1: 'node-a',
      node2: 'node-b',
      durationS: 61,
      reason: b.reason,
      report: null,
      runs: [
        {
          buildNumber: 1,
          node: 'node-a',
          startedAt: at,
          durationS: 60,
          exitCode: b.exitCode ?? 0,
          result: b.status === 'FTBFS' ? 'FTBFS' : 'built',
          variations: b.variations ?? {},
          notApplied: {},
        },
      ],
      ...(b.culprit ? { culprit: b.culprit } : {}),
    },
    b.when,
  );
}

describe('reprofarm site', () => {
  let f: SiteFixture;
  beforeAll(() => {
    f = createSiteFixture();
  });

  it('renders every page the contract names, and the JSON', async () => {
    const s = await site(f);
    expect(s.mode).toBe('full');
    expect(s.package_pages).toBe(FIXTURE_PACKAGES.length * 4);
    // and the FTBR packages' pages per culprit: the fixture's hello has a verdict from the hints, the rest none
    const culpritPages = ['bookworm', 'trixie'].flatMap((suite) =>
      ['amd64', 'arm64'].flatMap((arch) => readdirSync(join(f.siteDir, suite, arch)).filter((n) => n.startsWith('index_FTBR_culprit_'))),
    );
    expect(new Set(culpritPages)).toEqual(new Set(['index_FTBR_culprit_DOMAINNAME.html', 'index_FTBR_culprit_unsearched.html']));
    expect(s.status_pages).toBe(STATUSES.length * 4 + culpritPages.length + 3 * 4); // 3 list pages per suite/arch
    for (const p of ['index.html', 'variations.html', 'nodes.html', 'culprits.html', 'reproducible.json', 'static/style.css', 'static/site.js'])
      expect(existsSync(join(f.siteDir, p)), p).toBe(true);
    for (const suite of ['bookworm', 'trixie']) {
      for (const arch of ['amd64', 'arm64']) {
        for (const st of STATUSES) expect(existsSync(join(f.siteDir, suite, arch, `index_${st}.html`))).toBe(true);
        expect(existsSync(join(f.siteDir, suite, arch, 'index_scheduled.html'))).toBe(true);
        for (const p of FIXTURE_PACKAGES) expect(existsSync(join(f.siteDir, 'rb-pkg', suite, arch, `${p.name}.html`)), p.name).toBe(true);
      }
    }
    // the package folders were filled under another name and renamed into place: nothing of that is left
    expect(readdirSync(join(f.siteDir, 'rb-pkg', 'bookworm')).sort()).toEqual(['amd64', 'arm64']);
    const json = JSON.parse(readFileSync(join(f.siteDir, 'reproducible.json'), 'utf8')) as Record<string, unknown>[];
    expect(json.length).toBeGreaterThan(40);
    const base = ['architecture', 'build_date', 'package', 'status', 'suite', 'version'];
    // the fixture's FTBR with a verdict gains its culprit fields
    for (const o of json) expect(Object.keys(o).sort()).toEqual(o.verdict ? [...base, 'culprit_source', 'culprits', 'verdict'].sort() : base);
    const keys = json.map((o) => `${String(o.suite)}/${String(o.architecture)}/${String(o.package)}`);
    expect(new Set(keys).size).toBe(keys.length);
    // the FTBR package's page links its logs and its diffoscope report, which were published
    const page = readFileSync(join(f.siteDir, 'rb-pkg', 'bookworm', 'amd64', `${f.ftbrPackage}.html`), 'utf8');
    const links = [...page.matchAll(/href="([^"]+)"/g)].map((m) => m[1] ?? '');
    const assets = links.filter((l) => /\/(logs|dbd)\//.test(l));
    expect(assets.filter((l) => l.endsWith('.txt') && l.includes('/logs/'))).toHaveLength(2);
    expect(assets.filter((l) => l.includes('/dbd/'))).toHaveLength(2);
    for (const l of assets) expect(existsSync(join(f.siteDir, 'rb-pkg', 'bookworm', 'amd64', l)), l).toBe(true);
    expect(page).not.toContain(INJECTION);
    expect(page).toContain('&lt;img src=x onerror=');

    // for other tools: the tracker's per-package, per-suite statuses agree with reproducible.json
    const tracker = JSON.parse(readFileSync(join(f.siteDir, 'reproducible-tracker.json'), 'utf8')) as Record<
      string,
      Record<string, { version: string; status: string; architectures: Record<string, string> }>
    >;
    for (const o of json) expect(tracker[String(o.package)]?.[String(o.suite)]?.architectures[String(o.architecture)]).toBe(o.status);
    expect(Object.keys(tracker).sort()).toEqual([...new Set(json.map((o) => String(o.package)))].sort());
    // and the per-package API, one file per package page, the same status
    const api = JSON.parse(readFileSync(join(f.siteDir, 'api', 'v1', 'packages', 'bookworm', 'amd64', `${f.ftbrPackage}.json`), 'utf8')) as {
      api_version: number;
      package: string;
      status: string;
      current: { builds: Array<{ build: number; variations: Record<string, string> }> } | null;
    };
    expect(api).toMatchObject({ api_version: 1, package: f.ftbrPackage, status: 'FTBR' });
    expect(api.current?.builds.map((b) => b.build)).toEqual([1, 2]);
    for (const p of FIXTURE_PACKAGES) expect(existsSync(join(f.siteDir, 'api', 'v1', 'packages', 'trixie', 'arm64', `${p.name}.json`)), p.name).toBe(true);
  });

  it('renders the same bytes from the same DB', async () => {
    const cfg = otherSite(f, 'public-again');
    const r = await runCli(['--config', cfg, '--json', 'site', '--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-again')))).toEqual([]);
  });

  it('after a new result, renders only that package and the status pages it moved between, and equals a full render', async () => {
    const db = openDb(f.dbPath);
    recordAt(db, {
      suite: 'trixie',
      arch: 'arm64',
      package: 'zlib',
      version: '11.11-3',
      status: 'FTBFS',
      reason: 'build 1 failed (exit 2)',
      when: new Date('2026-11-21T08:00:00.000Z'),
      exitCode: 2,
      variations: { TZ: 'Etc/GMT+12' },
    });
    db.close();
    const s = await site(f);
    expect(s, s.why).toMatchObject({ mode: 'incremental', package_pages: 1 });
    // its suite/arch spliced, and any other whose recent pages lost a row to the DB's newer time (a splice of no change)
    expect(s.status_units_spliced).toBeGreaterThanOrEqual(1);
    // only the pages whose rows changed: the package's old status and FTBFS, and the list pages
    // (every package, the last 24 and 48 hours) its row or the DB's newer time moved rows in
    expect(s.status_pages).toBeGreaterThanOrEqual(1);
    expect(s.status_pages).toBeLessThanOrEqual(2 + 3 * 2);
    const page = readFileSync(join(f.siteDir, 'rb-pkg', 'trixie', 'arm64', 'zlib.html'), 'utf8');
    expect(page).toContain('build 1 failed (exit 2)');
    expect(readFileSync(join(f.siteDir, 'trixie', 'arm64', 'index_FTBFS.html'), 'utf8')).toContain('>zlib</a>');
    const cfg = otherSite(f, 'public-full-1');
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-full-1')))).toEqual([]);
  });

  it('removes the pages of a package that left its suite', async () => {
    const db = openDb(f.dbPath);
    db.sql.prepare("UPDATE sources SET removed_at = '2026-11-21T09:00:00.000Z' WHERE suite = 'bookworm' AND name = 'perl'").run();
    db.close();
    const s = await site(f);
    expect(s).toMatchObject({ mode: 'incremental', package_pages: 0, removed: 2, status_units_spliced: 2 });
    expect(existsSync(join(f.siteDir, 'rb-pkg', 'bookworm', 'amd64', 'perl.html'))).toBe(false);
    expect(existsSync(join(f.siteDir, 'rb-pkg', 'trixie', 'amd64', 'perl.html'))).toBe(true);
    const cfg = otherSite(f, 'public-full-2');
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-full-2')))).toEqual([]);
  });

  it('splices every kind of change into the status pages and the JSON as a full render writes them', async () => {
    const db = openDb(f.dbPath);
    const at = (m: number): string => new Date(Date.parse('2026-11-21T10:00:00.000Z') + m * 60_000).toISOString();
    const statuses = ['reproducible', 'FTBR', 'FTBFS', 'depwait', 'timeout', 'E404'];
    FIXTURE_PACKAGES.slice(0, 6).forEach((p, i) => {
      const [suite, arch] = [
        ['bookworm', 'amd64'],
        ['trixie', 'arm64'],
        ['bookworm', 'arm64'],
      ][i % 3] as [string, string];
      recordAt(db, { suite, arch, package: p.name, version: p.version, status: statuses[i] ?? 'FTBR', reason: `change ${i}`, when: new Date(at(i)) });
    });
    // a new source (untested everywhere, first in the listing), a new version, a result gone
    db.sql
      .prepare(
        `INSERT INTO sources (suite, name, version, architecture, directory, dsc_name, dsc_sha256, dsc_size, first_seen, version_seen)
      VALUES ('trixie', '0ad', '1.0-1', 'any', 'pool/main/0/0ad', '0ad_1.0-1.dsc', ?, 1, ?, ?)`,
      )
      .run('0'.repeat(64), at(10), at(10));
    db.sql.prepare("UPDATE sources SET version = '99.0-1', version_seen = ? WHERE suite = 'trixie' AND name = 'util-linux'").run(at(11));
    db.sql.prepare("DELETE FROM results WHERE suite = 'trixie' AND arch = 'amd64' AND package = 'zlib'").run();
    // a page's only row leaves it, and a page without rows gets one
    const only = db.sql.prepare("SELECT package FROM results WHERE suite = 'bookworm' AND arch = 'arm64' AND status = 'NFU'").pluck().all();
    expect(only).toEqual(['python3.11']);
    db.sql.prepare("UPDATE results SET status = 'blacklisted' WHERE suite = 'bookworm' AND arch = 'arm64' AND package = 'python3.11'").run();
    db.close();
    const s = await site(f);
    expect(s, s.why).toMatchObject({ mode: 'incremental', status_units_spliced: 4 });
    expect(readFileSync(join(f.siteDir, 'bookworm', 'arm64', 'index_NFU.html'), 'utf8')).toContain('<p>None.</p>');
    expect(readFileSync(join(f.siteDir, 'bookworm', 'arm64', 'index_blacklisted.html'), 'utf8')).toContain('>python3.11</a>');
    expect(readFileSync(join(f.siteDir, 'trixie', 'amd64', 'index_untested.html'), 'utf8')).toMatch(/>0ad<\/a>[^]*>zlib<\/a>/);
    const cfg = otherSite(f, 'public-full-3');
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-full-3')))).toEqual([]);
  });

  it("shows an FTBR's culprit search as the farm records it, and its verdict once a step gives one", async () => {
    const db = openDb(f.dbPath);
    const key = { suite: 'trixie', arch: 'amd64', package: 'dpkg' };
    const version = FIXTURE_PACKAGES.find((p) => p.name === 'dpkg')?.version ?? '';
    recordAt(db, {
      ...key,
      version,
      status: 'FTBR',
      reason: 'the .deb files differ',
      when: new Date('2026-11-21T12:00:00.000Z'),
      culprit: {
        job: 'reproducible_build_1',
        hints: [
          { variation: 'HOSTNAME', category: 'host-name', file: 'dpkg.deb/usr/share/doc/dpkg/buildinfo', evidence: `+i-capture-the-hostname ${INJECTION}` },
        ],
        categories: [{ category: 'host-name', variation: 'HOSTNAME', file: 'dpkg.deb/usr/share/doc/dpkg/buildinfo', evidence: IMG_INJECTION }],
        plan: JSON.stringify(newPlan(['HOSTNAME', 'TZ'])),
        reference: { artifacts: {}, buildDepends: null },
      },
    });
    db.close();
    const pagePath = join(f.siteDir, 'rb-pkg', 'trixie', 'amd64', 'dpkg.html');
    expect(await site(f)).toMatchObject({ mode: 'incremental', package_pages: 1 });
    let page = readFileSync(pagePath, 'utf8');
    expect(page).toContain('<strong>search in progress</strong> (0 builds so far)');
    expect(page).not.toContain(INJECTION);
    expect(page).toContain('+i-capture-the-hostname &lt;script&gt;window.__pwned = 1&lt;/script&gt;</code>');
    expect(readFileSync(join(f.siteDir, 'trixie', 'amd64', 'index_FTBR_culprit_waiting.html'), 'utf8')).toContain('>dpkg</a>');
    // a step of the search gives the verdict: no new result, only the search's row changed
    const db2 = openDb(f.dbPath);
    const claim = claimSearch(db2, 'reproducible_build_1', 'amd64', { maxPerDay: 10, key, now: new Date('2026-11-21T12:10:00.000Z') });
    expect(claim).toBeDefined();
    const step = {
      kind: 'all' as const,
      variations: '["HOSTNAME","TZ"]',
      node: 'node-a',
      started_at: '2026-11-21T12:10:00.000Z',
      duration: 60,
      outcome: 'differs' as const,
      reason: null,
    };
    recordStep(db2, { ...key, version, claimed_by: claim?.claimed_by ?? '' }, step, '{}', {
      verdict: 'culprits',
      culprits: ['HOSTNAME'],
      why: 'HOSTNAME alone makes them differ',
    });
    // what the change log's trigger on culprit_searches records, where the DB has it not yet
    if (!db2.sql.prepare("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'culprit_searches'").get())
      db2.sql.prepare('INSERT INTO site_changes (suite, arch, package) VALUES (?, ?, ?)').run(key.suite, key.arch, key.package);
    db2.close();
    const s = await site(f);
    expect(s, s.why).toMatchObject({ mode: 'incremental', package_pages: 1, status_units_spliced: 1 });
    page = readFileSync(pagePath, 'utf8');
    expect(page).toMatch(
      /<strong>culprits: <a href="\.\.\/\.\.\/\.\.\/trixie\/amd64\/index_FTBR_culprit_HOSTNAME\.html"[^>]*>HOSTNAME<\/a><\/strong> \(from a search of 1 build\)/,
    );
    expect(page).toMatch(/<td class="num">1<\/td><td>all<\/td><td>HOSTNAME, TZ<\/td><td class="outcome-differs">differs<\/td>/);
    expect(existsSync(join(f.siteDir, 'trixie', 'amd64', 'index_FTBR_culprit_waiting.html'))).toBe(false);
    const json = JSON.parse(readFileSync(join(f.siteDir, 'reproducible.json'), 'utf8')) as Record<string, unknown>[];
    expect(json.find((o) => o.suite === 'trixie' && o.architecture === 'amd64' && o.package === 'dpkg')).toMatchObject({
      verdict: 'culprits',
      culprits: ['HOSTNAME'],
      culprit_source: 'search',
    });
    expect(readFileSync(join(f.siteDir, 'culprits.html'), 'utf8')).toContain('href="./trixie/amd64/index_FTBR_culprit_HOSTNAME.html">1</a>');
    const cfg = otherSite(f, 'public-full-culprit');
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-full-culprit')))).toEqual([]);
  });

  it('writes a schedule page again when its schedule changed, and only then', async () => {
    const db = openDb(f.dbPath);
    db.sql
      .prepare(
        `INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at)
      VALUES ('bookworm', 'arm64', 'hello', '5.5-3', 7, 'manual', 'test', '2026-11-21T11:00:00.000Z')`,
      )
      .run();
    db.close();
    const page = join(f.siteDir, 'bookworm', 'arm64', 'index_scheduled.html');
    const other = statSync(join(f.siteDir, 'trixie', 'arm64', 'index_scheduled.html')).mtimeMs;
    const s = await site(f);
    expect(s, s.why).toMatchObject({ mode: 'incremental', package_pages: 0 });
    expect(readFileSync(page, 'utf8')).toMatch(/>hello<\/a><\/td><td>5\.5-3<\/td><td class="num">7<\/td><td>manual<\/td>/);
    expect(statSync(join(f.siteDir, 'trixie', 'arm64', 'index_scheduled.html')).mtimeMs).toBe(other);
    const cfg = otherSite(f, 'public-full-4');
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-full-4')))).toEqual([]);
  });

  it('draws the charts again when the days they show get a build, even one recorded late', async () => {
    const db = openDb(f.dbPath);
    recordAt(db, {
      suite: 'trixie',
      arch: 'amd64',
      package: 'acl',
      version: '1:0.0~rc1-1',
      status: 'FTBFS',
      reason: 'late',
      when: new Date('2026-11-19T12:00:00.000Z'),
      exitCode: 2,
    });
    db.close();
    const before = readFileSync(join(f.siteDir, 'index.html'), 'utf8');
    expect((await site(f)).mode).toBe('incremental');
    expect(readFileSync(join(f.siteDir, 'index.html'), 'utf8')).not.toBe(before);
    const cfg = otherSite(f, 'public-full-5');
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-full-5')))).toEqual([]);
  });

  it('drops from the recent pages what left their window, as a full render does', async () => {
    const [a, b, c, d] = FIXTURE_PACKAGES.slice(2, 6) as [
      (typeof FIXTURE_PACKAGES)[number],
      (typeof FIXTURE_PACKAGES)[number],
      (typeof FIXTURE_PACKAGES)[number],
      (typeof FIXTURE_PACKAGES)[number],
    ];
    const record = (suite: string, arch: string, p: { name: string; version: string }, when: string): void => {
      const db = openDb(f.dbPath);
      recordAt(db, { suite, arch, package: p.name, version: p.version, status: 'FTBR', reason: `at ${when}`, when: new Date(when) });
      db.close();
    };
    const recent = (hours: number): string => readFileSync(join(f.siteDir, 'bookworm', 'amd64', `index_last_${hours}h.html`), 'utf8');
    const sameAsFull = async (name: string): Promise<void> => {
      expect((await runCli(['--config', otherSite(f, name), 'site'])).code).toBe(0);
      expect(diffTrees(tree(f.siteDir), tree(join(f.dir, name)))).toEqual([]);
    };
    record('bookworm', 'amd64', a, '2026-11-22T00:00:00.000Z');
    record('bookworm', 'amd64', b, '2026-11-22T01:00:00.000Z');
    expect((await site(f)).mode).toBe('incremental');
    // a day later, a result of the same suite/arch: the first leaves the 24-hour page (the rows the last render kept, brought up to date)
    record('bookworm', 'amd64', c, '2026-11-23T00:30:00.000Z');
    await site(f);
    expect(recent(24)).not.toContain(`>${a.name}</a>`);
    expect(recent(24)).toContain(`>${b.name}</a>`);
    expect(recent(48)).toContain(`>${a.name}</a>`);
    await sameAsFull('public-full-recent-1');
    // two days later, a result of another suite/arch only: this one's pages lose rows to the passing time alone
    record('trixie', 'arm64', d, '2026-11-24T00:45:00.000Z');
    await site(f);
    expect(recent(48)).not.toContain(`>${a.name}</a>`);
    expect(recent(24)).not.toContain(`>${c.name}</a>`);
    await sameAsFull('public-full-recent-2');
  });

  it('removes a package folder a render that did not finish left half filled', async () => {
    const left = join(f.siteDir, 'rb-pkg', 'trixie', '.amd64.staging');
    mkdirSync(left, { recursive: true });
    writeFileSync(join(left, 'acl.html'), 'half');
    expect((await site(f)).mode).toBe('incremental');
    expect(existsSync(left)).toBe(false);
  });

  it('renders everything again when the configuration changed, or with --full', async () => {
    expect(await site(f)).toMatchObject({ mode: 'incremental', package_pages: 0, status_pages: 0 });
    expect(await site(f, '--full')).toMatchObject({ mode: 'full', why: '--full' });
    const before = statSync(join(f.siteDir, 'index.html')).mtimeMs;
    writeFileSync(f.config, `${readFileSync(f.config, 'utf8')}site: { recent_builds: 5 }\n`);
    expect(await site(f)).toMatchObject({ mode: 'full', why: 'the configuration changed' });
    expect(statSync(join(f.siteDir, 'index.html')).mtimeMs).toBeGreaterThanOrEqual(before);
  });

  it('renders with worker threads the same bytes as inline', async () => {
    // a full render of this small farm runs inline; the benchmark's runs on threads: both must agree
    const { loadConfig } = await import('../../core/config.js');
    const { buildSite } = await import('../../site/build.js');
    const cfg = otherSite(f, 'public-threads');
    const { config } = loadConfig({ path: cfg });
    if (!config) throw new Error('fixture config did not load');
    const db = openDb(f.dbPath);
    try {
      const s = await buildSite(config, db, { full: true, threads: 2, batch: 5 });
      expect(s.packagePages).toBeGreaterThan(40);
    } finally {
      db.close();
    }
    expect(diffTrees(tree(f.siteDir), tree(join(f.dir, 'public-threads')))).toEqual([]);
    // no temporary folders left behind by the threads
    expect(readdirSync(join(f.dir, 'public-threads', '.reprofarm')).filter((e) => e.startsWith('tmp-'))).toEqual([]);
  });

  it('lets one render run at a time, and takes over the lock of a dead one', async () => {
    const lock = join(f.siteDir, '.reprofarm', 'lock');
    writeFileSync(lock, `${hostname()} ${process.pid}\n`);
    const busy = await runCli(['--config', f.config, 'site']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('another site render is running');
    writeFileSync(lock, `${hostname()} 999999999\n`);
    expect((await runCli(['--config', f.config, 'site'])).code).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('reprofarm serve', () => {
  let f: SiteFixture;
  let h: ServeHandle;
  beforeAll(async () => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    expect((await runCli(['--config', f.config, 'site'])).code).toBe(0);
    h = await serveSite(f.siteDir, 0);
  });
  afterAll(async () => {
    await h.close();
  });

  it('serves pages, and logs as plain text a browser will not sniff', async () => {
    const index = await fetch(`${h.url}`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const page = await (await fetch(`${h.url}rb-pkg/bookworm/amd64/${f.ftbrPackage}.html`)).text();
    const log = /href="\.\.\/\.\.\/\.\.\/(logs\/[^"]+)"/.exec(page)?.[1];
    expect(log).toBeDefined();
    const r = await fetch(`${h.url}${log ?? ''}`);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toContain(INJECTION);
    // diffoscope's HTML report: in a sandbox with no scripts
    const report = /href="\.\.\/\.\.\/\.\.\/(dbd\/[^"]+\.diffoscope\.html)"/.exec(page)?.[1];
    expect(report).toBeDefined();
    const rep = await fetch(`${h.url}${report ?? ''}`);
    expect(rep.status).toBe(200);
    expect(rep.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    expect(index.headers.get('content-security-policy')).toBeNull();
    expect((await fetch(`${h.url}index.html`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${h.url}index.html`, { method: 'POST' })).status).toBe(405);
  });

  it('serves nothing outside the site, no dotfiles, no listings', async () => {
    for (const p of [
      '../../../../etc/passwd',
      '%2e%2e/%2e%2e/etc/passwd',
      '.reprofarm/state.json',
      'rb-pkg/..%2f..%2f..%2fetc/passwd',
      'static/.hidden',
      'nope.html',
    ]) {
      const r = await fetch(`${h.url}${p}`);
      expect(r.status, p).toBe(404);
    }
    const dir = await fetch(`${h.url}rb-pkg`, { redirect: 'manual' });
    expect(dir.status).toBe(301);
    expect(dir.headers.get('location')).toBe('/rb-pkg/');
    // not an open redirect: "//static" would send the browser to the host "static"
    const twice = await fetch(`${h.url}%2F%2Fstatic`, { redirect: 'manual' });
    expect(twice.status).toBe(301);
    expect(twice.headers.get('location')).toBe('/static/');
    expect((await fetch(`${h.url}rb-pkg/`)).status).toBe(404);
  });
});
