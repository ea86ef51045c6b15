/**
 * The culprits on the site (issue 18, point 3): the verdict and its evidence
 * on a package page, the culprit column and the pages per culprit of the
 * FTBR packages, culprits.html, and reproducible.json's fields; then a site
 * rendered from a DB with culprit searches in it, incrementally as in full.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import type { CulpritData, ListRow, PackageData } from '../../db/site.js';
import { countGroups, culpritCellHtml, culpritGroups, culpritJson, groupsOfLine, orderGroups } from '../../site/culprit-groups.js';
import { culpritsView } from '../../site/model-culprits.js';
import { packageView } from '../../site/model-package.js';
import { jsonRow, statusPages, statusRowHtml } from '../../site/model-status.js';
import { Renderer } from '../../site/render.js';
import { createSiteFixture, type SiteFixture } from '../harness/site-fixture.js';
import { diffTrees, renderFixture, tree } from '../harness/site-trees.js';

const SCRIPT = '<script>alert("x")</script>';
const IMG = '"><img src=x onerror=alert(1)>';

function ftbrRow(over: Partial<ListRow> = {}): ListRow {
  return { package: 'hello', version: '1.0-1', status: 'FTBR', build_date: '2026-11-20T10:00:00.000Z', ...over };
}

const shapes = {
  hints: { culprit_state: 'done', verdict: 'culprits', culprits: '["BUILD_PATH","HOSTNAME"]', culprit_source: 'hints', culprit_builds: 0 },
  search: { culprit_state: 'done', verdict: 'culprits', culprits: '["TZ"]', culprit_source: 'search', culprit_builds: 7 },
  nondeterministic: { culprit_state: 'done', verdict: 'nondeterministic', culprits: '[]', culprit_source: 'search', culprit_builds: 1 },
  unknown: { culprit_state: 'done', verdict: 'unknown', culprits: '[]', culprit_source: 'search', culprit_builds: 16 },
  waiting: { culprit_state: 'waiting', verdict: null, culprits: '[]', culprit_source: null, culprit_builds: 3 },
  unsearched: {},
} satisfies Record<string, Partial<ListRow>>;

function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

describe('culprit groups', () => {
  it('put each FTBR in its culprits, or in what its search says', () => {
    expect(culpritGroups(ftbrRow(shapes.hints))).toEqual(['BUILD_PATH', 'HOSTNAME']);
    expect(culpritGroups(ftbrRow(shapes.nondeterministic))).toEqual(['nondeterministic']);
    expect(culpritGroups(ftbrRow(shapes.unknown))).toEqual(['unknown']);
    expect(culpritGroups(ftbrRow(shapes.waiting))).toEqual(['waiting']);
    expect(culpritGroups(ftbrRow())).toEqual(['unsearched']);
    // a culprit that cannot name a page is in none; a list of only such is of unknown cause
    expect(culpritGroups(ftbrRow({ ...shapes.hints, culprits: JSON.stringify([SCRIPT, 'TZ', 3]) }))).toEqual(['TZ']);
    expect(culpritGroups(ftbrRow({ ...shapes.hints, culprits: `["../x", "__proto__"]` }))).toEqual(['unknown']);
    expect(culpritGroups(ftbrRow({ ...shapes.hints, culprits: 'not json' }))).toEqual(['unknown']);
    expect(orderGroups(['unsearched', 'ZZZ', 'BUILD_PATH', 'waiting', 'TZ', 'nondeterministic', 'AAA'])).toEqual([
      'TZ',
      'BUILD_PATH',
      'AAA',
      'ZZZ',
      'nondeterministic',
      'waiting',
      'unsearched',
    ]);
    expect(countGroups(Object.values(shapes).map((s) => ftbrRow(s)))).toEqual({
      BUILD_PATH: 1,
      HOSTNAME: 1,
      TZ: 1,
      nondeterministic: 1,
      unknown: 1,
      waiting: 1,
      unsearched: 1,
    });
  });

  it('give the FTBR rows a culprit cell linking each group, hostile keys escaped and unlinked', () => {
    expect(culpritCellHtml(ftbrRow(shapes.hints))).toBe(
      '<td class="culprit"><a href="index_FTBR_culprit_BUILD_PATH.html">BUILD_PATH</a>, <a href="index_FTBR_culprit_HOSTNAME.html">HOSTNAME</a></td>',
    );
    expect(text(culpritCellHtml(ftbrRow(shapes.waiting)))).toBe('search in progress (3 builds so far)');
    expect(text(culpritCellHtml(ftbrRow()))).toBe('not searched');
    const evil = culpritCellHtml(ftbrRow({ ...shapes.hints, culprits: JSON.stringify([SCRIPT, IMG, 'TZ']) }));
    expect(evil).not.toMatch(/<script|<img/);
    expect(evil).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, &quot;&gt;&lt;img src=x onerror=alert(1)&gt;, <a href="index_FTBR_culprit_TZ.html">TZ</a>',
    );
    // one line per package: the status pages splice them (status-pages.ts), and read its groups back from it
    const line = statusRowHtml('sid', 'amd64', ftbrRow(shapes.unknown));
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const odd = { ...shapes.hints, culprits: JSON.stringify([SCRIPT, 'TZ', 'index_FTBR_culprit_X.html']) };
    for (const s of [...Object.values(shapes), odd, { ...shapes.hints, culprits: '["a"]' }]) {
      const r = ftbrRow({ ...s, package: 'index_FTBR_culprit_Y', version: ' href="index_FTBR_culprit_Z.html"' });
      expect(groupsOfLine(statusRowHtml('sid', 'amd64', r))).toEqual(culpritGroups(r));
    }
    expect(groupsOfLine(statusRowHtml('sid', 'amd64', { ...ftbrRow(), status: 'FTBFS' }))).toBeNull();
    expect(statusRowHtml('sid', 'amd64', { ...ftbrRow(shapes.hints), status: 'FTBFS' })).not.toContain('culprit');
  });

  it("give reproducible.json's FTBR rows verdict, culprits and culprit_source once there is a verdict", () => {
    const row = (s: Partial<ListRow>, status = 'FTBR'): Record<string, unknown> =>
      JSON.parse(jsonRow('sid', 'amd64', ftbrRow({ ...s, status }))) as Record<string, unknown>;
    expect(row(shapes.hints)).toEqual({
      package: 'hello',
      version: '1.0-1',
      suite: 'sid',
      architecture: 'amd64',
      status: 'FTBR',
      build_date: '2026-11-20T10:00:00.000Z',
      verdict: 'culprits',
      culprits: ['BUILD_PATH', 'HOSTNAME'],
      culprit_source: 'hints',
    });
    expect(row(shapes.search)).toMatchObject({ verdict: 'culprits', culprits: ['TZ'], culprit_source: 'search' });
    expect(row(shapes.nondeterministic)).toMatchObject({ verdict: 'nondeterministic', culprits: [], culprit_source: 'search' });
    expect(row(shapes.unknown)).toMatchObject({ verdict: 'unknown', culprits: [] });
    for (const s of [shapes.waiting, shapes.unsearched]) expect(Object.keys(row(s))).not.toContain('verdict');
    expect(Object.keys(row(shapes.hints, 'reproducible'))).not.toContain('verdict');
    expect(culpritJson(ftbrRow({ ...shapes.search, culprit_source: null }))).toEqual({ verdict: 'culprits', culprits: ['TZ'] });
    // the keys as stored, whatever they are: JSON escapes them
    expect(row({ ...shapes.hints, culprits: JSON.stringify([SCRIPT]) }).culprits).toEqual([SCRIPT]);
  });
});

function culprit(over: Partial<CulpritData> = {}): CulpritData {
  return {
    version: '2.10-3',
    state: 'done',
    verdict: 'culprits',
    culprits: '["BUILD_PATH"]',
    source: 'hints',
    why: "the differences show BUILD_PATH (in diffoscope's report)",
    hints: JSON.stringify([
      { variation: 'BUILD_PATH', category: 'build-path', file: `hello.deb/usr/share/${SCRIPT}`, evidence: `-/build/1st/hello-2.10 ${SCRIPT}` },
      { variation: 'HOSTNAME', category: null, file: 'hello.deb/DEBIAN/control', evidence: `+i-capture-the-hostname ${IMG}` },
      'not an object',
    ]),
    categories: JSON.stringify([{ category: 'file-order', variation: 'FILEORDERING', file: 'hello.deb/data.tar.xz', evidence: IMG }]),
    builds: 0,
    steps: [],
    ...over,
  };
}

function pkg(c: CulpritData | undefined, status = 'FTBR'): PackageData {
  const result = {
    package: 'hello',
    version: '2.10-3',
    status,
    build_date: '2026-11-20T10:05:00.000Z',
    node1: 'n1',
    node2: 'n2',
    job: 'j1',
    build_duration: 130,
    build_id: 7,
  };
  return {
    suite: 'bookworm',
    arch: 'amd64',
    source: { name: 'hello', version: '2.10-3', architecture: 'any' },
    result,
    current: undefined,
    history: [],
    builds: 1,
    culprit: c,
  };
}

const steps: CulpritData['steps'] = [
  { step: 1, kind: 'control', variations: '[]', node: 'n1', started_at: '2026-11-20T11:00:00.000Z', duration: 61, outcome: 'same', reason: null },
  {
    step: 2,
    kind: 'all',
    variations: '["TZ","BUILD_PATH"]',
    node: 'n1',
    started_at: '2026-11-20T11:02:00.000Z',
    duration: 62,
    outcome: 'differs',
    reason: null,
  },
  {
    step: 3,
    kind: 'half',
    variations: '["TZ"]',
    node: `n1${SCRIPT}`,
    started_at: '2026-11-20T11:04:00.000Z',
    duration: 63,
    outcome: 'failed',
    reason: `exit 2 ${IMG}`,
  },
];

describe('the package page', () => {
  const r = new Renderer();
  const page = (c: CulpritData | undefined, status = 'FTBR'): string =>
    r.render('package', packageView(pkg(c, status), { logs: new Map(), reportTxt: null, reportHtml: null }));
  const verdict = (html: string): string => text(/<p class="verdict[^"]*">(.*?)<\/p>/.exec(html)?.[1] ?? '');

  it('leads with the verdict, right under the title', () => {
    const html = page(culprit({ culprits: '["BUILD_PATH","HOSTNAME"]' }));
    expect(html).toMatch(/<\/h1>\n<p class="verdict verdict-culprits">/);
    expect(verdict(html)).toBe('culprits: BUILD_PATH, HOSTNAME (from hints) · the evidence');
    expect(html).toContain('href="../../../bookworm/amd64/index_FTBR_culprit_HOSTNAME.html"');
    expect(verdict(page(culprit({ culprits: '["TZ"]', source: 'search', builds: 7, steps })))).toBe('culprits: TZ (from a search of 7 builds) · the evidence');
    const none = { hints: '[]', categories: '[]', culprits: '[]' };
    expect(verdict(page(culprit({ ...none, verdict: 'nondeterministic', source: 'search', builds: 1 })))).toBe('nondeterministic (from a search of 1 build)');
    expect(verdict(page(culprit({ ...none, verdict: 'unknown', source: 'search', builds: 16, why: `the budget ran out ${SCRIPT}` })))).toBe(
      `unknown: the budget ran out ${SCRIPT}`,
    );
    expect(verdict(page(culprit({ ...none, state: 'waiting', verdict: null, source: null, why: null, builds: 3 })))).toBe(
      'search in progress (3 builds so far)',
    );
    // no search, or not an FTBR (a search of another version is not read at all: db/site.ts)
    expect(page(undefined)).not.toContain('class="verdict');
    expect(page(culprit(), 'reproducible')).not.toContain('class="verdict');
  });

  it('shows each hint, kind of difference and step as text: the diff lines escaped, in <code>', () => {
    const html = page(culprit({ steps }));
    expect(html).not.toMatch(/<script>alert|<img src=x/);
    expect(html).toContain(`<td><code>-/build/1st/hello-2.10 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</code></td>`);
    expect(html).toContain('<td><code>+i-capture-the-hostname &quot;&gt;&lt;img src=x onerror=alert(1)&gt;</code></td>');
    expect(html).toContain('<code>hello.deb/usr/share/&lt;script&gt;');
    expect(html).toContain('<td>file-order</td><td>FILEORDERING</td><td><code>hello.deb/data.tar.xz</code></td><td><code>&quot;&gt;&lt;img src=x');
    const rows = [...html.matchAll(/<tr><td class="num">(\d)<\/td>(.*?)<\/tr>/g)].map((m) => text(`${m[1] ?? ''}|${(m[2] ?? '').replace(/<\/td>/g, '|')}`));
    expect(rows).toEqual([
      "1|control|none: build 1's variations|same|n1|2026-11-20 11:00 UTC|1 min 1 s||",
      '2|all|TZ, BUILD_PATH|differs|n1|2026-11-20 11:02 UTC|1 min 2 s||',
      `3|half|TZ|failed|n1${SCRIPT}|2026-11-20 11:04 UTC|1 min 3 s|exit 2 ${IMG}|`,
    ]);
    expect(html).toContain('href="../../../nodes.html#node-n1%3Cscript%3E');
  });
});

describe('the FTBR pages and culprits.html', () => {
  const r = new Renderer();
  const listing = Object.entries(shapes).map(([name, s]) => ftbrRow({ package: name, ...s }));

  it('give the FTBR page a culprit column and links to each group with its count; other pages neither', () => {
    const pages = statusPages('sid', 'amd64', [...listing, { package: 'zlib', version: '1', status: 'reproducible', build_date: null }]);
    const ftbr = r.render('status', pages.find((p) => p.status === 'FTBR') ?? pages[0]!);
    expect(ftbr).toContain('<th scope="col">culprit</th>');
    expect(text(/<nav class="culprits"[^>]*>(.*?)<\/nav>/.exec(ftbr)?.[1] ?? '')).toBe(
      'by culprit: TZ (1) HOSTNAME (1) BUILD_PATH (1) nondeterministic (1) unknown (1) search in progress (1) not searched (1) · every suite',
    );
    const repro = r.render('status', pages.find((p) => p.status === 'reproducible') ?? pages[0]!);
    expect(repro).not.toContain('culprit</th>');
    expect(repro).not.toContain('class="culprits"');
  });

  it('count the packages of each culprit per suite and architecture, each count linking to them', () => {
    const groups = countGroups(listing);
    const v = culpritsView(
      [
        { suite: 'sid', arch: 'amd64', ftbr: listing.length, groups },
        { suite: 'sid', arch: 'arm64', ftbr: 0, groups: {} },
      ],
      '2026-11-20T10:00:00.000Z',
    );
    const [a, b] = v.sections;
    expect(a?.rows.map((x) => [x.label, x.count, x.href])).toEqual([
      ['TZ', 1, './sid/amd64/index_FTBR_culprit_TZ.html'],
      ['HOSTNAME', 1, './sid/amd64/index_FTBR_culprit_HOSTNAME.html'],
      ['BUILD_PATH', 1, './sid/amd64/index_FTBR_culprit_BUILD_PATH.html'],
      ['nondeterministic', 1, './sid/amd64/index_FTBR_culprit_nondeterministic.html'],
      ['unknown', 1, './sid/amd64/index_FTBR_culprit_unknown.html'],
      ['search in progress', 1, './sid/amd64/index_FTBR_culprit_waiting.html'],
      ['not searched', 1, './sid/amd64/index_FTBR_culprit_unsearched.html'],
    ]);
    expect(a?.rows[0]?.pct).toBe('16.7%');
    // nothing to link to at 0
    expect(b?.rows.map((x) => [x.label, x.count, x.href])).toEqual([
      ['nondeterministic', 0, null],
      ['unknown', 0, null],
      ['search in progress', 0, null],
    ]);
    const html = r.render('culprits', v);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<section class="suite" id="sid-arm64">');
    expect(html).toContain('<td class="num"><a href="./sid/amd64/index_FTBR_culprit_TZ.html">1</a></td>');
    expect(html).toContain('<a href="./culprits.html" aria-current="page">Culprits</a>');
  });
});

describe('a site rendered from a DB with culprit searches', () => {
  let f: SiteFixture;
  let db: FarmDb;
  const T = '2026-11-20T10:00:00.000Z';
  beforeAll(() => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64', 'arm64'] });
    db = openDb(f.dbPath);
  });
  afterAll(() => {
    db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });

  const render = (siteDir = 'public', full = false): ReturnType<typeof renderFixture> => renderFixture(f, db, siteDir, full);
  const search = (arch: string, pkg: string, s: Partial<ListRow> & { hints?: string; why?: string | null }, version?: string): void => {
    const r = db.sql.prepare("SELECT version, build_id FROM results WHERE suite = 'bookworm' AND arch = ? AND package = ?").get(arch, pkg) as {
      version: string;
      build_id: number;
    };
    db.sql
      .prepare(
        `INSERT OR REPLACE INTO culprit_searches (suite, arch, package, version, build_id, job, state, verdict, culprits, source, why, hints, builds, created_at, updated_at)
        VALUES ('bookworm', ?, ?, ?, ?, 'reproducible_build_1', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        arch,
        pkg,
        version ?? r.version,
        r.build_id,
        s.culprit_state,
        s.verdict ?? null,
        s.culprits ?? '[]',
        s.culprit_source ?? null,
        s.why ?? null,
        s.hints ?? '[]',
        s.culprit_builds ?? 0,
        T,
        T,
      );
  };
  const ftbr = (arch: string): string[] =>
    db.sql.prepare("SELECT package FROM results WHERE suite = 'bookworm' AND arch = ? ORDER BY package").pluck().all(arch) as string[];
  const page = (rel: string): string => readFileSync(join(f.dir, 'public', rel), 'utf8');
  const json = (): Record<string, unknown>[] => JSON.parse(page('reproducible.json')) as Record<string, unknown>[];

  it('shows the verdicts on the package pages, the FTBR pages, culprits.html and in reproducible.json', async () => {
    // FTBR packages of each verdict: made so, whatever farm-data gave them
    const [a, b, c, d, e] = ftbr('amd64');
    for (const p of [a, b, c, d, e]) db.sql.prepare("UPDATE results SET status = 'FTBR' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(p);
    search('amd64', a ?? '', {
      ...shapes.hints,
      hints: JSON.stringify([{ variation: 'BUILD_PATH', category: 'build-path', file: 'x.deb/y', evidence: SCRIPT + IMG }]),
    });
    search('amd64', b ?? '', shapes.search);
    search('amd64', c ?? '', { ...shapes.unknown, why: `the budget ran out ${IMG}` });
    search('amd64', d ?? '', shapes.waiting);
    // a search of an older version says nothing about the current one
    search('amd64', e ?? '', shapes.nondeterministic, '0.0-old');
    const s = await render();
    expect(s.mode).toBe('full');
    const pa = page(`rb-pkg/bookworm/amd64/${a ?? ''}.html`);
    expect(pa).toContain('<strong>culprits: <a href="../../../bookworm/amd64/index_FTBR_culprit_BUILD_PATH.html"');
    expect(pa).not.toMatch(/<script>alert|<img src=x/);
    expect(pa).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</code>');
    expect(page(`rb-pkg/bookworm/amd64/${c ?? ''}.html`)).toContain('<strong>unknown:</strong> the budget ran out &quot;&gt;&lt;img');
    expect(page(`rb-pkg/bookworm/amd64/${e ?? ''}.html`)).not.toContain('class="verdict');
    const list = page('bookworm/amd64/index_FTBR.html').split('\n');
    const row = (p: string | undefined): string => list.find((l) => l.includes(`>${p ?? ''}</a>`)) ?? '';
    expect(row(a)).toContain('<td class="culprit"><a href="index_FTBR_culprit_BUILD_PATH.html">BUILD_PATH</a>, <a');
    expect(row(e)).toContain('<td class="culprit"><a href="index_FTBR_culprit_unsearched.html">not searched</a>');
    expect(page('bookworm/amd64/index_FTBR_culprit_TZ.html')).toContain(`>${b ?? ''}</a>`);
    expect(page('bookworm/amd64/index_FTBR_culprit_TZ.html')).not.toContain(`>${a ?? ''}</a>`);
    const culprits = page('culprits.html');
    expect(culprits).toContain('<td class="num"><a href="./bookworm/amd64/index_FTBR_culprit_HOSTNAME.html">1</a></td>');
    expect(culprits).toMatch(/<section class="suite" id="bookworm-arm64">[^]*<td>unknown<\/td><td class="num">0<\/td>/);
    const rows = new Map(json().map((o) => [`${String(o.architecture)}/${String(o.package)}`, o]));
    expect(rows.get(`amd64/${a ?? ''}`)).toMatchObject({ verdict: 'culprits', culprits: ['BUILD_PATH', 'HOSTNAME'], culprit_source: 'hints' });
    expect(rows.get(`amd64/${c ?? ''}`)).toMatchObject({ verdict: 'unknown', culprits: [], culprit_source: 'search' });
    for (const p of [d, e]) expect(Object.keys(rows.get(`amd64/${p ?? ''}`) ?? {})).not.toContain('verdict');
  });

  it('splices a verdict that changed without a new result, and equals a full render', async () => {
    const [a, b, , d] = ftbr('amd64');
    // the search ends (its last step recorded), one culprit group empties, another appears
    search('amd64', d ?? '', { ...shapes.nondeterministic, culprit_builds: 4 });
    search('amd64', b ?? '', { ...shapes.search, culprits: '["LANG"]' });
    db.sql.prepare("UPDATE culprit_searches SET culprits = '[\"HOSTNAME\"]' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(a);
    const s = await render();
    expect(s).toMatchObject({ mode: 'incremental', packagePages: 3, splicedUnits: 1 });
    expect(existsSync(join(f.dir, 'public', 'bookworm/amd64/index_FTBR_culprit_TZ.html'))).toBe(false);
    expect(existsSync(join(f.dir, 'public', 'bookworm/amd64/index_FTBR_culprit_BUILD_PATH.html'))).toBe(false);
    expect(page('bookworm/amd64/index_FTBR_culprit_LANG.html')).toContain(`>${b ?? ''}</a>`);
    expect(page(`rb-pkg/bookworm/amd64/${d ?? ''}.html`)).toContain('<strong>nondeterministic</strong> (from a search of 4 builds)');
    expect(json().find((o) => o.package === d && o.architecture === 'amd64')).toMatchObject({ verdict: 'nondeterministic' });
    await render('full-1', true);
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-1')))).toEqual([]);
  });

  it('drops the verdict when the package is rebuilt at a new version, and a group when its last package leaves FTBR', async () => {
    const [a, b] = ftbr('amd64');
    // b: a new version (the old search still there, of the old version); a: reproducible now (noteResult drops its search)
    db.sql.prepare("UPDATE results SET version = '99.0-1' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(b);
    db.sql.prepare("UPDATE results SET status = 'reproducible' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(a);
    db.sql.prepare("DELETE FROM culprit_searches WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(a);
    const s = await render();
    expect(s).toMatchObject({ mode: 'incremental', splicedUnits: 1 });
    for (const g of ['LANG', 'HOSTNAME']) expect(existsSync(join(f.dir, 'public', `bookworm/amd64/index_FTBR_culprit_${g}.html`)), g).toBe(false);
    expect(page('bookworm/amd64/index_FTBR_culprit_unsearched.html')).toContain(`>${b ?? ''}</a>`);
    expect(page('culprits.html')).not.toContain('index_FTBR_culprit_LANG');
    await render('full-2', true);
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-2')))).toEqual([]);
  });
});
