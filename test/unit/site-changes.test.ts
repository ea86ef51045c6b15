/**
 * What changed (issue 19, point 5): a package's status over its builds (an
 * SVG), an FTBR's diff of its two .buildinfo files, and what changed in a
 * node's facts since its previous collection; escaped, bounded, and rendered
 * incrementally as in full.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import type { BuildRow } from '../../db/site.js';
import { historyChart } from '../../site/chart-history.js';
import { STATUS_COLOURS } from '../../site/charts.js';
import { factsDiff } from '../../site/facts-diff.js';
import { MAX_INPUT, MAX_LINES, textDiff } from '../../site/text-diff.js';
import { createSiteFixture, IMG_INJECTION, INJECTION, type SiteFixture } from '../harness/site-fixture.js';
import { diffTrees, renderFixture, tree } from '../harness/site-trees.js';

function build(id: number, version: string, status: string): BuildRow {
  return {
    id,
    package: 'hello',
    version,
    status,
    build_date: `2026-11-${String(id).padStart(2, '0')}T10:00:00.000Z`,
    job: 'j',
    node1: 'a',
    node2: 'b',
    duration: 60,
    reason: null,
    report: null,
  };
}

describe('the history chart', () => {
  it('draws a bar per build, oldest first, in its status colour, and marks each version', () => {
    // newest first, as PackageData has it
    const c = historyChart([build(4, '2.0-1', 'FTBR'), build(3, '2.0-1', 'reproducible'), build(2, '1.0-1', 'FTBFS'), build(1, '1.0-1', 'reproducible')]);
    expect(c?.bars.map((b) => b.colour)).toEqual([STATUS_COLOURS.reproducible, STATUS_COLOURS.FTBFS, STATUS_COLOURS.reproducible, STATUS_COLOURS.FTBR]);
    expect(c?.bars[0]?.title).toBe('2026-11-01 10:00 UTC: 1.0-1 reproducible');
    expect(c?.versions.map((v) => v.label)).toEqual(['1.0-1', '2.0-1']);
    expect(c?.summary).toContain('4 builds of 2 versions');
    expect(historyChart([])).toBeNull();
  });
});

describe('text diffs', () => {
  it('give the changed lines of a unified diff, and say when they are cut', () => {
    const d = textDiff('a', 'b', 'x\ny\nz\n', 'x\nY\nz\n');
    expect(d.same).toBe(false);
    expect(d.lines.filter((l) => l.kind !== 'same').map((l) => l.text)).toEqual(['@@ -1,3 +1,3 @@', '-y', '+Y']);
    expect(d.truncated).toBe('');
    expect(textDiff('a', 'b', 'x\n', 'x\n').same).toBe(true);
    const big = (c: string): string => Array.from({ length: MAX_INPUT / 4 }, (_, i) => (i % 500 === 0 ? `${c}${i}\n` : `line ${i}\n`)).join('');
    const huge = textDiff('a', 'b', big('a'), big('b'));
    expect(huge.lines.length).toBe(MAX_LINES);
    expect(huge.truncated).toMatch(/^only the first 256 KiB of each file are compared; \d+ more lines of the diff are not shown$/);
    const other = (c: string): string => Array.from({ length: 5000 }, (_, i) => `${c}${i}\n`).join('');
    expect(textDiff('a', 'b', other('a'), other('b')).truncated).toBe('the files differ in more than 2000 lines: no diff is shown');
  });

  it("give a node's changed facts, but DATETIME", () => {
    const d = factsDiff([
      {
        at: '2026-11-20T10:00:00.000Z',
        facts: new Map([
          ['KERNEL', 'Linux 6.2'],
          ['DATETIME', 'now'],
          ['NEW', 'x'],
        ]),
      },
      {
        at: '2026-11-19T10:00:00.000Z',
        facts: new Map([
          ['KERNEL', 'Linux 6.1'],
          ['DATETIME', 'then'],
        ]),
      },
    ]);
    expect(d?.lines.filter((l) => l.kind !== 'hunk').map((l) => l.text)).toEqual(['-KERNEL=Linux 6.1', '+KERNEL=Linux 6.2', '+NEW=x']);
    expect(d?.oldName).toBe('collected 2026-11-19 10:00 UTC');
    expect(factsDiff([{ at: 'x', facts: new Map() }])).toBeNull();
  });
});

describe('a site showing what changed', () => {
  let f: SiteFixture;
  let db: FarmDb;
  beforeAll(() => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    db = openDb(f.dbPath);
  });
  afterAll(() => {
    db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });

  const render = (siteDir = 'public', full = false): ReturnType<typeof renderFixture> => renderFixture(f, db, siteDir, full);
  const page = (rel: string, siteDir = 'public'): string => readFileSync(join(f.dir, siteDir, rel), 'utf8');

  it('diffs the FTBR builds’ .buildinfo files and the nodes’ facts, escaped, the same in full as incrementally', async () => {
    // the fixture's FTBR package: its two runs' result folders get a .buildinfo each, build 2's with hostile text
    const runs = db.sql
      .prepare(
        `SELECT br.node, br.build_number, r.version FROM results r JOIN build_runs br ON br.build_id = r.build_id
        WHERE r.suite = 'bookworm' AND r.arch = 'amd64' AND r.package = ? ORDER BY br.build_number`,
      )
      .all(f.ftbrPackage) as { node: string; build_number: number; version: string }[];
    for (const r of runs) {
      const dir = join(f.stateDir, 'results', r.node, 'bookworm', 'amd64', f.ftbrPackage, r.version);
      const extra = r.build_number === 2 ? `Build-Path: /build/2/${INJECTION}\n` : 'Build-Path: /build/1st\n';
      writeFileSync(join(dir, `${f.ftbrPackage}_${r.version}_amd64.buildinfo`), `Format: 1.0\nSource: ${f.ftbrPackage}\n${extra}Environment:\n LANG="C"\n`);
    }
    // a version with markup in the package's history
    db.sql
      .prepare("UPDATE builds SET version = ? WHERE id = (SELECT MIN(id) FROM builds WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?)")
      .run(`0${IMG_INJECTION}`, f.ftbrPackage);
    // node-b collected again: its kernel changed, and a fact carries markup
    const c = db.sql
      .prepare("INSERT INTO collections (node, started_at, duration_ms, ok, health) VALUES ('node-b', '2026-11-20T10:30:00.000Z', 40, 1, 'ok')")
      .run().lastInsertRowid;
    const ins = db.sql.prepare('INSERT INTO facts (collection_id, key, value) VALUES (?, ?, ?)');
    const prev = db.sql
      .prepare("SELECT key, value FROM facts WHERE collection_id = (SELECT MAX(id) FROM collections WHERE node = 'node-b' AND id < ?)")
      .all(c) as {
      key: string;
      value: string;
    }[];
    for (const p of prev) ins.run(c, p.key, p.key === 'KERNEL' ? 'Linux 6.1.0-99-amd64' : p.value);
    ins.run(c, 'BANNER', IMG_INJECTION);
    await render();

    const pkg = page(`rb-pkg/bookworm/amd64/${f.ftbrPackage}.html`);
    expect(pkg).toContain('<section class="buildinfo" id="buildinfo">');
    expect(pkg).toContain('<span class="d-del">-Build-Path: /build/1st</span>');
    expect(pkg).toContain('<span class="d-add">+Build-Path: /build/2/&lt;script&gt;window.__pwned = 1&lt;/script&gt;</span>');
    expect(pkg).not.toContain(INJECTION);
    // the history chart: an SVG with a bar per build, its version labels escaped
    expect(pkg).toMatch(/<figure class="chart history">\n<svg [^>]*role="img"/);
    const bars = (pkg.match(/<rect [^>]*fill="#[0-9a-f]{6}"><title>/g) ?? []).length;
    const builds = db.sql.prepare("SELECT COUNT(*) FROM builds WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").pluck().get(f.ftbrPackage);
    expect(bars).toBe(builds);
    expect(pkg).not.toContain(IMG_INJECTION);
    expect(pkg).toContain('0&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;');
    // a package that is not FTBR has no .buildinfo diff
    const other = readdirSync(join(f.siteDir, 'rb-pkg/bookworm/amd64')).find((n) => n !== `${f.ftbrPackage}.html`) ?? '';
    expect(page(`rb-pkg/bookworm/amd64/${other}`)).not.toContain('id="buildinfo"');

    const nodes = page('nodes.html');
    const b = /<section class="fact-changes" id="changes-node-node-b">([^]*?)<\/section>/.exec(nodes)?.[1] ?? '';
    expect(b).toContain('<span class="d-del">-KERNEL=Linux 6.1.0-21-amd64</span>');
    expect(b).toContain('<span class="d-add">+KERNEL=Linux 6.1.0-99-amd64</span>');
    expect(b).toContain('<span class="d-add">+BANNER=&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;</span>');
    expect(nodes).not.toContain(IMG_INJECTION);

    await render('full-1', true);
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-1')))).toEqual([]);
    // an incremental render after a change of the package equals a full one too
    db.sql.prepare("UPDATE results SET build_date = build_date WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(f.ftbrPackage);
    await render();
    await render('full-2', true);
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-2')))).toEqual([]);
  });
});
