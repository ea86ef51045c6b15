import { afterAll, describe, expect, it } from 'vitest';
import type { ListRow, PackageData, RunRow } from '../../db/site.js';
import { buildsPerDay, dayRange, reproducibleShare } from '../../site/charts.js';
import { fmtDate, fmtDuration, fmtOffset, percent } from '../../site/format.js';
import { indexView, suiteArchCharts } from '../../site/model-dashboard.js';
import { nodesView } from '../../site/model-nodes.js';
import { packageView } from '../../site/model-package.js';
import { jsonFragment, jsonRow, statusPages, statusRowHtml } from '../../site/model-status.js';
import { jobVariations, variationsView, type JobInput } from '../../site/model-variations.js';
import { Renderer } from '../../site/render.js';
import { emptyTrash, SiteWriter } from '../../site/writer.js';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferLines, FileLines, spliceFragment, spliceLines, type LineSource } from '../../site/splice-lines.js';

const EVIL = '<script>alert("x")</script>';

function run(n: 1 | 2, vars: Record<string, string>, notApplied: Record<string, string> = {}, buildId = 1): RunRow {
  return {
    build_id: buildId,
    build_number: n,
    node: n === 1 ? 'n1' : 'n2',
    started_at: '2026-11-20T10:00:00.000Z',
    duration: 65,
    exit_code: 0,
    result: 'built',
    variations: JSON.stringify(vars),
    not_applied: JSON.stringify(notApplied),
  };
}

function pkg(over: Partial<PackageData> = {}): PackageData {
  return {
    suite: 'bookworm',
    arch: 'amd64',
    source: { name: 'hello', version: '2.10-3', architecture: 'any' },
    result: {
      package: 'hello',
      version: '2.10-3',
      status: 'FTBR',
      build_date: '2026-11-20T10:05:00.000Z',
      node1: 'n1',
      node2: 'n2',
      job: 'j1',
      build_duration: 130,
      build_id: 7,
    },
    current: {
      id: 7,
      package: 'hello',
      version: '2.10-3',
      status: 'FTBR',
      build_date: '2026-11-20T10:05:00.000Z',
      job: 'j1',
      node1: 'n1',
      node2: 'n2',
      duration: 130,
      reason: `the .deb files differ ${EVIL}`,
      report: null,
      runs: [run(1, { TZ: 'Etc/GMT+12', HOSTNAME: EVIL }), run(2, { TZ: 'Etc/GMT-14' }, { DATE: 'faketime is not installed' })],
    },
    history: [],
    builds: 1,
    ...over,
  };
}

describe('formatting', () => {
  it('formats dates, durations, offsets and shares', () => {
    expect(fmtDate('2026-11-28T11:12:57.123Z')).toBe('2026-11-28 11:12 UTC');
    expect(fmtDate(null)).toBe('—');
    expect(fmtDate('yesterday')).toBe('yesterday');
    expect(fmtDuration(42)).toBe('42 s');
    expect(fmtDuration(125)).toBe('2 min 5 s');
    expect(fmtDuration(3 * 3600 + 120)).toBe('3 h 2 min');
    expect(fmtDuration(null)).toBe('—');
    expect(fmtOffset(398 * 86400 + 6 * 3600 + 23 * 60)).toBe('+398 d 6 h 23 min');
    expect(fmtOffset(-2)).toBe('-2 s');
    expect(fmtOffset(0.2)).toBe('0 s');
    expect(percent(1, 3)).toBe('33.3%');
    expect(percent(0, 0)).toBe('0.0%');
  });
});

describe('charts', () => {
  const days = dayRange('2026-11-20', 7);
  it('covers the days asked for, oldest first', () => {
    expect(days).toEqual(['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
  });
  it('stacks builds per day by status and draws nothing for empty days', () => {
    const c = buildsPerDay(
      [
        { day: '2026-11-15', status: 'reproducible', n: 3 },
        { day: '2026-11-15', status: 'FTBR', n: 1 },
        { day: '2026-11-20', status: 'FTBFS', n: 2 },
      ],
      days,
      ['reproducible', 'FTBR', 'FTBFS'],
    );
    expect(c.bars).toHaveLength(3);
    expect(c.empty).toBe(false);
    expect(c.legend.map((l) => [l.status, l.total])).toEqual([
      ['reproducible', 3],
      ['FTBR', 1],
      ['FTBFS', 2],
    ]);
    // the two bars of one day are stacked: the upper one ends where the lower one starts
    const [lower, upper] = c.bars;
    expect((upper?.y ?? 0) + (upper?.h ?? 0)).toBeCloseTo(lower?.y ?? 0, 0);
    expect(c.yTicks.every((t) => /^\d+$/.test(t.label))).toBe(true);
  });
  it("keeps the other days' bars when only the last day's changed, and draws them again when what they show moved", () => {
    const order = ['reproducible', 'FTBR', 'FTBFS'];
    const base = [
      { day: '2026-11-15', status: 'reproducible', n: 30 },
      { day: '2026-11-15', status: 'FTBR', n: 10 },
      { day: '2026-11-18', status: 'FTBFS', n: 20 },
      { day: '2026-11-20', status: 'reproducible', n: 2 },
    ];
    const whole = (rows: typeof base): string => buildsPerDay(rows, days, order).barsHtml;
    const first = buildsPerDay(base, days, order);
    expect(first.barsHtml.startsWith(first.past.html)).toBe(true);
    expect(first.past.html).toContain('2026-11-18: 20 FTBFS');
    expect(first.past.html).not.toContain('2026-11-20');
    // one more build on the last day: only its bars are drawn, the bytes are a whole drawing's
    const more = base.map((r) => (r.day === '2026-11-20' ? { ...r, n: 3 } : r));
    const next = buildsPerDay(more, days, order, first.past);
    expect(next.bars.map((b) => b.title)).toEqual(['2026-11-20: 3 reproducible']);
    expect(next.barsHtml).toBe(whole(more));
    expect(next.past.key).toBe(first.past.key);
    // a build recorded late into an earlier day, or a last day that raises the scale: every bar again
    const late = [...more, { day: '2026-11-16', status: 'FTBR', n: 1 }].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    const afterLate = buildsPerDay(late, days, order, next.past);
    expect(afterLate.bars).toHaveLength(5);
    expect(afterLate.barsHtml).toBe(whole(late));
    const taller = more.map((r) => (r.day === '2026-11-20' ? { ...r, n: 90 } : r));
    const afterTaller = buildsPerDay(taller, days, order, next.past);
    expect(afterTaller.bars).toHaveLength(4);
    expect(afterTaller.barsHtml).toBe(whole(taller));
    // and escaped as the template escaped them
    expect(first.barsHtml).toContain('<title>2026-11-15: 30 reproducible</title></rect>\n');
  });
  it('draws the reproducible share as a line through the days that had builds', () => {
    const c = reproducibleShare(
      [
        { day: '2026-11-15', status: 'reproducible', n: 3 },
        { day: '2026-11-15', status: 'FTBR', n: 1 },
        { day: '2026-11-18', status: 'reproducible', n: 1 },
      ],
      days,
    );
    expect(c.path).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+$/);
    expect(c.points.map((p) => p.title)).toEqual(['2026-11-15: 75.0% of 4 builds reproducible', '2026-11-18: 100.0% of 1 builds reproducible']);
    expect(reproducibleShare([], days).empty).toBe(true);
  });
  it('is a pure function: same rows, same geometry', () => {
    const rows = [{ day: '2026-11-16', status: 'reproducible', n: 5 }];
    expect(JSON.stringify(buildsPerDay(rows, days, ['reproducible']))).toBe(JSON.stringify(buildsPerDay(rows, days, ['reproducible'])));
  });
});

describe('view models', () => {
  it('counts untested packages from the known sources and links every status page', () => {
    const v = indexView(
      [
        {
          suite: 'bookworm',
          arch: 'amd64',
          known: 10,
          counts: new Map([
            ['reproducible', 6],
            ['FTBR', 2],
          ]),
          building: 1,
          waiting: 2,
          daily: [],
        },
      ],
      '2026-11-20T10:00:00.000Z',
    );
    const s = v.sections[0];
    expect(s?.rows.find((r) => r.status === 'untested')?.n).toBe(2);
    expect(s?.reproduciblePct).toBe('60.0%');
    expect(s?.rows.map((r) => r.href)).toContain('./bookworm/amd64/index_FTBR.html');
  });
  it('gives every status a page, with the packages of that status only', () => {
    const pages = statusPages('sid', 'arm64', [
      { package: 'a', version: '1', status: 'reproducible', build_date: '2026-11-20T10:00:00.000Z' },
      { package: 'b', version: '1', status: 'untested', build_date: null },
    ]);
    expect(pages).toHaveLength(10);
    const untested = pages.find((p) => p.status === 'untested');
    expect(untested?.count).toBe(1);
    expect(untested?.rowsHtml).toBe('<tr><td><a href="../../rb-pkg/sid/arm64/b.html">b</a></td><td>1</td><td data-sort="">—</td></tr>\n');
  });
  it('shows what each build applied and what it could not', () => {
    const v = packageView(pkg(), { logs: new Map([[1, 'logs/bookworm/amd64/hello/7.build1.txt']]), reportTxt: null, reportHtml: null });
    expect(v.runs[0]?.logHref).toBe('../../../logs/bookworm/amd64/hello/7.build1.txt');
    expect(v.runs[1]?.logHref).toBeNull();
    expect(v.runs[1]?.notApplied).toEqual([{ key: 'DATE', why: 'faketime is not installed' }]);
    expect(v.runs[0]?.variations.map((x) => x.key)).toEqual(['TZ', 'HOSTNAME']);
  });
  it("orders each build's variations by the table, unknown keys after, however many pages share a key set", () => {
    const page = (a: Record<string, string>, b: Record<string, string>): string[][] => {
      const p = pkg();
      const cur = p.current;
      if (!cur) throw new Error('no current build');
      const v = packageView({ ...p, current: { ...cur, runs: [run(1, a), run(2, b)] } }, { logs: new Map(), reportTxt: null, reportHtml: null });
      return v.runs.map((r) => r.variations.map((x) => x.key));
    };
    for (let i = 0; i < 3; i++) {
      expect(page({ ZZZ: '1', HOSTNAME: 'h', TZ: 'A', AAA: '2' }, { TZ: 'B' })).toEqual([['TZ', 'HOSTNAME', 'AAA', 'ZZZ'], ['TZ']]);
      expect(page({ TZ: 'A', HOSTNAME: 'h', ZZZ: '1', AAA: '2' }, { UMASK: '0002', TZ: 'B' })).toEqual([
        ['TZ', 'HOSTNAME', 'AAA', 'ZZZ'],
        ['TZ', 'UMASK'],
      ]);
    }
  });
  it('gives a depwait its unmet build dependencies, on the page and in reproducible.json, and no other status', () => {
    const unmet = `libfoo-dev (>= 9) ${EVIL}`;
    const dw = pkg();
    if (!dw.result || !dw.current) throw new Error('pkg() has a result');
    const d = { ...dw, result: { ...dw.result, status: 'depwait' }, current: { ...dw.current, status: 'depwait', unmet } };
    expect(packageView(d, { logs: new Map(), reportTxt: null, reportHtml: null }).unmet).toBe(unmet);
    const ftbr = { ...dw, current: { ...dw.current, unmet } };
    expect(packageView(ftbr, { logs: new Map(), reportTxt: null, reportHtml: null }).unmet).toBe('');
    const html = new Renderer().render('package', packageView(d, { logs: new Map(), reportTxt: null, reportHtml: null }));
    expect(html).toContain('<dt>unmet build dependencies</dt><dd class="unmet">libfoo-dev (&gt;= 9) &lt;script&gt;');
    const row = { package: 'hello', version: '1', status: 'depwait', build_date: null, unmet };
    expect(JSON.parse(jsonRow('sid', 'amd64', row))).toEqual({
      package: 'hello',
      version: '1',
      suite: 'sid',
      architecture: 'amd64',
      status: 'depwait',
      build_date: null,
      unmet,
    });
    expect(JSON.parse(jsonRow('sid', 'amd64', { ...row, status: 'FTBFS' }))).not.toHaveProperty('unmet');
    expect(JSON.parse(jsonRow('sid', 'amd64', { ...row, unmet: null }))).not.toHaveProperty('unmet');
  });
  it("lists each node's chroots with their age, and the configured suites a node has no chroot of", () => {
    const node = { name: 'n1', health: 'ok', health_reason: null, last_attempt_at: null, last_collected_at: null, clock_offset_s: 0, arch: 'amd64' };
    const conf = { name: 'n1', arch: 'amd64', transport: 'ssh', offline: false, info: null };
    const c = { node: 'n1', suite: 'bookworm', arch: 'amd64', created: '2026-11-17T09:00:00.000Z', size: 157 * 1048576, sha256: 'ab'.repeat(32), seen_at: '' };
    const v = nodesView([conf], [node], [], '2026-11-20T10:00:00.000Z', 3600, { rows: [c], wanted: ['bookworm', 'trixie'] });
    const n = v.nodes[0];
    expect(n?.chroots.map((x) => [x.name, x.age, x.size, x.sha256])).toEqual([['bookworm/amd64', '3 d', '157 MiB', 'abababababab']]);
    expect(n?.missingChroots).toEqual(['no chroot for trixie/amd64: run reprofarm chroot update n1 --suite trixie']);
    // the plain backend wants none
    expect(nodesView([conf], [node], [], null, 3600, { rows: [], wanted: [] }).nodes[0]?.missingChroots).toEqual([]);
    const html = new Renderer().render('nodes', v);
    expect(html).toContain('bookworm/amd64: made');
    expect(html).toContain('run reprofarm chroot update n1 --suite trixie');
  });
  it("marks stale node facts against the DB's newest timestamp, not the wall clock", () => {
    const rows = [
      {
        name: 'fresh',
        health: 'ok',
        health_reason: null,
        last_attempt_at: '2026-11-20T09:30:00.000Z',
        last_collected_at: '2026-11-20T09:30:00.000Z',
        clock_offset_s: 0,
        arch: 'amd64',
      },
      {
        name: 'old',
        health: 'unreachable',
        health_reason: 'connection refused',
        last_attempt_at: '2026-11-20T09:30:00.000Z',
        last_collected_at: '2026-11-18T09:30:00.000Z',
        clock_offset_s: 0,
        arch: 'amd64',
      },
    ];
    const v = nodesView([], rows, [], '2026-11-20T10:00:00.000Z', 3600);
    expect(v.nodes.map((n) => [n.name, n.stale])).toEqual([
      ['fresh', false],
      ['old', true],
    ]);
  });
  it('flags a job whose nodes do not differ in what they should, and variations that did not vary', () => {
    const facts = (host: string): JobInput['facts1'] => ({
      at: '2026-11-20T10:00:00.000Z',
      offset: 0,
      facts: new Map([
        ['HOSTNAME', host],
        ['KERNEL', 'Linux 6.1'],
        ['NUM_CPU', '4'],
      ]),
    });
    const job: JobInput = {
      name: 'j1',
      node1: 'n1',
      node2: 'n2',
      facts1: facts('a'),
      facts2: facts('b'),
      runs: [
        run(1, { TZ: 'A', UMASK: '0022', NICE: '10' }, {}, 2),
        run(2, { TZ: 'B', UMASK: '0022', NICE: '10' }, {}, 2),
        run(1, { TZ: 'A' }, {}, 1),
        run(2, {}, { TZ: 'not installed' }, 1),
      ],
    };
    const v = variationsView([job], ['HOSTNAME', 'KERNEL'], 100, '2026-11-20T10:00:00.000Z', 3600);
    const j = v.jobs[0];
    expect(j?.facts.find((f) => f.key === 'HOSTNAME')).toMatchObject({ differ: true, flagged: false });
    expect(j?.facts.find((f) => f.key === 'KERNEL')).toMatchObject({ differ: false, flagged: true });
    expect(j?.facts.find((f) => f.key === 'NUM_CPU')).toMatchObject({ differ: false, flagged: false });
    expect(j?.variations.find((x) => x.key === 'UMASK')).toMatchObject({ differ: false, flagged: true });
    expect(j?.variations.find((x) => x.key === 'NICE')).toMatchObject({ flagged: false });
    expect(j?.variations.find((x) => x.key === 'TZ')).toMatchObject({ applied1: '2/2', applied2: '1/2', flagged: true, notApplied: ['not installed (1×)'] });
    expect(j?.flags).toEqual(expect.arrayContaining(['both nodes have the same KERNEL (Linux 6.1)', 'UMASK was the same in both builds (0022)']));
  });
  it('counts variations by their own keys only: a key named like an object property is not applied where a run lacks it', () => {
    const s = jobVariations([
      run(1, { toString: 'x', constructor: 'y' }, {}, 2),
      run(2, {}, {}, 2),
      run(1, {}, {}, 1),
      run(2, {}, { constructor: 'not here' }, 1),
    ]);
    expect(s.builds).toBe(2);
    expect(s.variations.find((x) => x.key === 'toString')).toMatchObject({ v1: 'x', v2: '—', applied1: '1/2', applied2: '0/2' });
    expect(s.variations.find((x) => x.key === 'constructor')).toMatchObject({
      v1: 'y',
      v2: '—',
      applied1: '1/2',
      applied2: '0/2',
      notApplied: ['not here (1×)'],
    });
    // the same rows whether the view is given the runs or what jobVariations made of them
    const base = { name: 'j', node1: 'a', node2: 'b', facts1: undefined, facts2: undefined };
    const runs = [run(1, { TZ: 'A' }, {}, 1), run(2, { TZ: 'B' }, {}, 1)];
    expect(variationsView([{ ...base, summary: jobVariations(runs) }], [], 100, null, 3600)).toEqual(variationsView([{ ...base, runs }], [], 100, null, 3600));
  });
});

describe('Eta templates', () => {
  const r = new Renderer();
  it('escape everything that comes from the DB, a node or a package', () => {
    const html = r.render('package', packageView(pkg(), { logs: new Map(), reportTxt: null, reportHtml: null }));
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    const facts = new Map([
      ['HOSTNAME', EVIL],
      ['KERNEL', '"><img src=x onerror=alert(1)>'],
    ]);
    const v = r.render(
      'variations',
      variationsView(
        [{ name: 'j<b>', node1: 'n1', node2: 'n2', facts1: { at: '2026-11-20T10:00:00.000Z', offset: 0, facts }, facts2: undefined, runs: [] }],
        ['HOSTNAME'],
        100,
        null,
        3600,
      ),
    );
    expect(v).not.toMatch(/<script>alert|<img src=x|<b>/);
    expect(v).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });
  it('the dashboard with its charts rendered beforehand (the cached way) is byte for byte the one rendered whole', () => {
    const daily = [
      { day: '2026-11-19', status: 'reproducible', n: 5 },
      { day: '2026-11-19', status: 'FTBR', n: 2 },
      { day: '2026-11-20', status: 'FTBFS', n: 1 },
      { day: '2026-11-20', status: 'reproducible', n: 3 },
    ];
    const asOf = '2026-11-20T10:00:00.000Z';
    const input = {
      suite: 'bookworm',
      arch: 'amd64',
      known: 10,
      counts: new Map([
        ['reproducible', 6],
        ['FTBR', 2],
      ]),
      building: 1,
      waiting: 2,
      daily,
    };
    const g = suiteArchCharts(daily, asOf);
    const chartsHtml = { share: r.chart('chart-share', g.share), builds: r.chart('chart-bars', g.builds) };
    const whole = r.render('index', indexView([input, { ...input, arch: 'arm64' }], asOf));
    expect(whole).toContain('<rect');
    expect(
      r.render(
        'index',
        indexView(
          [
            { ...input, chartsHtml },
            { ...input, arch: 'arm64', chartsHtml },
          ],
          asOf,
        ),
      ),
    ).toBe(whole);
  });
  it('render every page kind into a whole document', () => {
    const pages = [
      r.render('index', indexView([], null)),
      r.render('nodes', nodesView([], [], [], null, 3600)),
      r.render('variations', variationsView([], [], 100, null, 3600)),
      r.render('status', statusPages('sid', 'amd64', [])[0]!),
    ];
    for (const p of pages) {
      expect(p).toMatch(/^<!DOCTYPE html>/);
      expect(p.trimEnd()).toMatch(/<\/html>$/);
      expect(p).toContain('static/style.css');
    }
  });
  it('are deterministic: the same view gives the same bytes', () => {
    const a = r.render('package', packageView(pkg(), { logs: new Map(), reportTxt: null, reportHtml: null }));
    const b = new Renderer().render('package', packageView(pkg(), { logs: new Map(), reportTxt: null, reportHtml: null }));
    expect(a).toBe(b);
  });
});

/** An FTBR's culprit search, of a kind that depends on `v` (its version in the splice tests): its line and JSON row change with it. */
function culpritOf(v: string): Partial<ListRow> {
  switch (v.charCodeAt(0) % 5) {
    case 0:
      return { culprit_state: 'done', verdict: 'culprits', culprits: '["BUILD_PATH","TZ"]', culprit_source: 'hints', culprit_builds: 0 };
    case 1:
      return { culprit_state: 'done', verdict: 'nondeterministic', culprits: '[]', culprit_source: 'search', culprit_builds: 1 };
    case 2:
      return { culprit_state: 'waiting', verdict: null, culprits: '[]', culprit_source: null, culprit_builds: v.length };
    case 3:
      return { culprit_state: 'done', verdict: 'unknown', culprits: '[]', culprit_source: 'search', culprit_builds: 16 };
    default:
      return {};
  }
}

describe("splicing a status page's rows", () => {
  const row = (name: string, version: string): string =>
    statusRowHtml('sid', 'amd64', { package: name, version, status: 'FTBR', build_date: '2026-11-20T10:00:00.000Z', ...culpritOf(version) });
  const key = (line: Buffer): string => /">([^<]*)<\/a>/.exec(line.toString())?.[1]?.replace(/&amp;/g, '&') ?? '';
  // through a buffer, and through a file read a window at a time
  const dir = mkdtempSync(join(tmpdir(), 'reprofarm-splice-'));
  const sources: [string, (text: Buffer) => { src: LineSource; done: () => void }][] = [
    ['buffer', (text) => ({ src: new BufferLines(text), done: (): void => undefined })],
    [
      'file',
      (text) => {
        writeFileSync(join(dir, 'page'), Buffer.concat([Buffer.from('head\n'), text, Buffer.from('tail')]));
        const fd = openSync(join(dir, 'page'), 'r');
        return { src: new FileLines(fd, 5, text.length), done: (): void => closeSync(fd) };
      },
    ],
  ];
  const splice = (text: string, keys: string[], lines: Map<string, string>, how = 0): { text: string; delta: number; changed: boolean } => {
    const b = Buffer.from(text);
    const [, open] = sources[how] as (typeof sources)[number];
    const { src, done } = open(b);
    try {
      const r = spliceLines(src, keys, new Map([...lines].map(([k, v]) => [k, Buffer.from(v)])), key);
      return {
        text: Buffer.concat(r.pieces.map((p) => (p instanceof Uint8Array ? p : b.subarray(p.start, p.end)))).toString(),
        delta: r.delta,
        changed: r.changed,
      };
    } finally {
      done();
    }
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // byte order (SQLite's BINARY), as the listing sorts: '+' < '-' < '.' < digits < letters
  const sorted = (names: Iterable<string>): string[] => [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  it('gives the lines a full render would, whatever is removed, replaced or added', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = 'ab+-.0z';
    const name = (): string => Array.from({ length: 1 + rand(4) }, () => alphabet[rand(alphabet.length)]).join('');
    for (let round = 0; round < 300; round++) {
      const page = new Map<string, string>();
      for (let i = rand(30); i > 0; i--) page.set(name(), String(rand(9)));
      const text = sorted(page.keys())
        .map((n) => row(n, page.get(n) ?? ''))
        .join('');
      const keys = Array.from({ length: rand(8) }, name);
      if (keys[0] !== undefined) keys.push(keys[0]);
      const lines = new Map<string, string>();
      for (const k of keys) {
        if (rand(2) === 0) {
          const v = `${rand(9)}&new`;
          lines.set(k, row(k, v));
          page.set(k, v);
        } else page.delete(k);
      }
      const want = sorted(page.keys())
        .map((n) => row(n, page.get(n) ?? ''))
        .join('');
      for (const how of [0, 1]) {
        const got = splice(text, keys, lines, how);
        expect(got.text, `round ${round}, ${sources[how]?.[0] ?? ''}`).toBe(want);
        expect(got.delta).toBe(want.split('\n').length - text.split('\n').length);
        expect(got.changed).toBe(want !== text);
      }
    }
  });
  it('gives the reproducible.json fragment a full render would, its last row without a comma', () => {
    let seed = 9;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // FTBR rows with and without a culprit verdict: the JSON rows gain verdict, culprits and culprit_source
    const rowOf = (name: string, v: string): ListRow => ({
      package: name,
      version: v,
      status: 'FTBR',
      build_date: '2026-11-20T10:00:00.000Z',
      ...culpritOf(v),
    });
    for (let round = 0; round < 300; round++) {
      const m = new Map<string, string>();
      for (let i = rand(6); i > 0; i--) m.set(`p${rand(9)}`, String(rand(9)));
      const text = Buffer.from(
        jsonFragment(
          'sid',
          'amd64',
          sorted(m.keys()).map((n) => rowOf(n, m.get(n) ?? '')),
        ),
      );
      const keys = Array.from({ length: rand(4) }, () => `p${rand(9)}`);
      const lines = new Map<string, Buffer>();
      for (const k of keys) {
        if (rand(2) === 0) {
          m.set(k, `${rand(9)}x`);
          lines.set(k, Buffer.from(`${jsonRow('sid', 'amd64', rowOf(k, m.get(k) ?? ''))},\n`));
        } else m.delete(k);
      }
      const want = jsonFragment(
        'sid',
        'amd64',
        sorted(m.keys()).map((n) => rowOf(n, m.get(n) ?? '')),
      );
      const src = new BufferLines(text.length > 0 ? Buffer.concat([text, Buffer.from(',\n')]) : text);
      const r = spliceFragment(src, text.length, keys, lines);
      const got = r.changed ? Buffer.concat(r.pieces.map((p) => (p instanceof Uint8Array ? p : text.subarray(p.start, p.end)))).toString() : text.toString();
      expect(got, `round ${round}`).toBe(want);
      for (const p of r.pieces) if (!(p instanceof Uint8Array)) expect(p.end).toBeLessThanOrEqual(text.length);
    }
  });
  it('leaves a page whose packages did not change as it was', () => {
    const text = ['a', 'b', 'c'].map((n) => row(n, '1')).join('');
    expect(splice(text, ['zz', 'b0'], new Map())).toEqual({ text, delta: 0, changed: false });
    expect(splice(text, ['b'], new Map([['b', row('b', '1')]]))).toEqual({ text, delta: 0, changed: false });
  });
});

describe('the site writer', () => {
  it('keeps a big file it replaced in the trash for the next render to free, and frees it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reprofarm-writer-'));
    try {
      const w = new SiteWriter(root);
      const big = 'x'.repeat(1_200_000);
      w.compose('reproducible.json', ['[', big, ']']);
      w.compose('reproducible.json', ['[', { file: join(root, 'reproducible.json'), start: 1, end: 11 }, ']']);
      w.compose('small.html', ['a']);
      w.compose('small.html', ['b']);
      expect(readFileSync(join(root, 'reproducible.json'), 'utf8')).toBe(`[${'x'.repeat(10)}]`);
      const trash = join(root, '.reprofarm', 'trash');
      const kept = readdirSync(trash);
      expect(kept).toHaveLength(1);
      expect(statSync(join(trash, kept[0] ?? '')).size).toBe(1_200_002);
      await emptyTrash(root);
      expect(readdirSync(trash)).toEqual([]);
      w.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
