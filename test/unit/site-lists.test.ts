/**
 * A suite/arch's list pages (issue 19, point 4): the packages tested in the
 * last 24 and 48 hours of the DB's own time, and every package by name; each
 * rendered incrementally as in full.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import { SiteReader } from '../../db/site.js';
import { createSiteFixture, INJECTION, type SiteFixture } from '../harness/site-fixture.js';
import { diffTrees, renderFixture, tree } from '../harness/site-trees.js';

/** The package names of a list page's rows, in their order. */
function rowNames(html: string): string[] {
  return [...html.matchAll(/<tr><td><a href="[^"]*">([^<]*)<\/a>/g)].map((m) => m[1] ?? '');
}

describe("a suite/arch's list pages", () => {
  let f: SiteFixture;
  let db: FarmDb;
  beforeAll(() => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64', 'arm64'] });
    db = openDb(f.dbPath);
  });
  afterAll(() => {
    db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });

  const render = (siteDir = 'public', full = false): ReturnType<typeof renderFixture> => renderFixture(f, db, siteDir, full);
  const page = (rel: string, siteDir = 'public'): string => readFileSync(join(f.dir, siteDir, rel), 'utf8');
  const hoursBefore = (h: number): string => {
    const asOf = new SiteReader(db).asOf() ?? '';
    return new Date(Date.parse(asOf) - h * 3_600_000).toISOString();
  };
  const setDate = (arch: string, pkg: string, date: string): void => {
    db.sql.prepare("UPDATE results SET build_date = ? WHERE suite = 'bookworm' AND arch = ? AND package = ?").run(date, arch, pkg);
  };

  it('lists what was tested in the last 24 and 48 hours of the DB, newest first, and every package by name', async () => {
    // every result old, then three of them recent
    db.sql.prepare("UPDATE results SET build_date = '2025-01-01T00:00:00.000Z' WHERE suite = 'bookworm'").run();
    setDate('amd64', 'bash', hoursBefore(1));
    setDate('amd64', 'acl', hoursBefore(30));
    setDate('amd64', 'dpkg', hoursBefore(23));
    // a source that left the suite is not on its pages
    setDate('amd64', 'zlib', hoursBefore(2));
    db.sql.prepare("UPDATE sources SET removed_at = '2026-11-19T00:00:00.000Z' WHERE suite = 'bookworm' AND name = 'zlib'").run();
    await render();
    expect(rowNames(page('bookworm/amd64/index_last_24h.html'))).toEqual(['bash', 'dpkg']);
    expect(rowNames(page('bookworm/amd64/index_last_48h.html'))).toEqual(['bash', 'dpkg', 'acl']);
    expect(rowNames(page('bookworm/arm64/index_last_24h.html'))).toEqual([]);
    const all = rowNames(page('bookworm/amd64/index_all_abc.html'));
    const names = db.sql.prepare("SELECT name FROM sources WHERE suite = 'bookworm' AND removed_at IS NULL ORDER BY name").pluck().all() as string[];
    expect(all).toEqual(names);
    expect(page('bookworm/amd64/index_all_abc.html')).toMatch(/>bash<\/a><\/td><td>[^<]*<\/td><td class="st-[a-z-]+">[a-zA-Z-]+<\/td>/);
    // linked from the suite/arch's nav, on its status pages and on each other
    for (const p of ['index_FTBR.html', 'index_last_24h.html', 'index_all_abc.html']) {
      const html = page(`bookworm/amd64/${p}`);
      for (const l of ['index_last_24h.html', 'index_last_48h.html', 'index_all_abc.html'])
        expect(html, `${p} links ${l}`).toContain(`href="../../bookworm/amd64/${l}"`);
    }
  });

  it('splices a new result into the pages, and a later render equals a full one', async () => {
    setDate('amd64', 'hello', hoursBefore(0));
    db.sql.prepare("UPDATE results SET status = 'FTBFS' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'perl'").run();
    // a status page neither package was or is on is not opened: a byte added to it stays
    const nfu = join(f.dir, 'public', 'bookworm', 'amd64', 'index_NFU.html');
    const nfuBefore = readFileSync(nfu, 'utf8');
    writeFileSync(nfu, `${nfuBefore}x`);
    const s = await render();
    expect(s).toMatchObject({ mode: 'incremental', splicedUnits: 1 });
    expect(readFileSync(nfu, 'utf8')).toBe(`${nfuBefore}x`);
    writeFileSync(nfu, nfuBefore);
    expect(rowNames(page('bookworm/amd64/index_last_24h.html'))[0]).toBe('hello');
    expect(page('bookworm/amd64/index_all_abc.html')).toMatch(/>perl<\/a><\/td><td>[^<]*<\/td><td class="st-ftbfs">FTBFS<\/td>/);
    await render('full-1', true);
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-1')))).toEqual([]);
  });

  it('composes reproducible.json on a thread of its own when the last one was big, to the same bytes', async () => {
    const json = join(f.dir, 'public', 'reproducible.json');
    const before = readFileSync(json, 'utf8');
    db.sql.prepare("UPDATE results SET status = 'FTBR' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'perl'").run();
    // (any size is big enough here)
    expect(await renderFixture(f, db, 'public', false, { composeThreadFrom: 0 })).toMatchObject({ mode: 'incremental', splicedUnits: 1 });
    const after = readFileSync(json, 'utf8');
    expect(after).not.toBe(before);
    expect(after).toMatch(/"package":"perl","version":"[^"]*","suite":"bookworm","architecture":"amd64","status":"FTBR"/);
    await render('full-json', true);
    expect(after).toBe(page('reproducible.json', 'full-json'));
    db.sql.prepare("UPDATE results SET status = 'FTBFS' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'perl'").run();
    await render();
  });

  it("drops a row once the DB's time moves past its window, with no change to its suite/arch", async () => {
    // the DB's time moves on (a node's collection): 26 hours after dpkg's result; and a build in the other arch
    const asOf = new SiteReader(db).asOf() ?? '';
    const later = new Date(Date.parse(asOf) + 3 * 3_600_000).toISOString();
    db.sql.prepare("INSERT INTO collections (node, started_at, duration_ms, ok, health) VALUES ('node-a', ?, 40, 0, 'unreachable')").run(later);
    const other = db.sql.prepare("SELECT package FROM results WHERE suite = 'bookworm' AND arch = 'arm64' ORDER BY package LIMIT 1").pluck().get() as string;
    setDate('arm64', other, later);
    await render();
    expect(rowNames(page('bookworm/amd64/index_last_24h.html'))).not.toContain('dpkg');
    expect(rowNames(page('bookworm/amd64/index_last_48h.html'))).toContain('dpkg');
    expect(rowNames(page('bookworm/arm64/index_last_24h.html'))).toEqual([other]);
    await render('full-2', true);
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-2')))).toEqual([]);
    // and the same DB renders the same bytes
    await render('full-3', true);
    expect(diffTrees(tree(join(f.dir, 'full-2')), tree(join(f.dir, 'full-3')))).toEqual([]);
  });

  it('escapes what a version carries', async () => {
    db.sql.prepare("UPDATE results SET version = ? WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'bash'").run(`1.0${INJECTION}`);
    await render();
    for (const p of ['index_last_24h.html', 'index_all_abc.html']) {
      const html = page(`bookworm/amd64/${p}`);
      expect(html).not.toContain(INJECTION);
      expect(html).toContain('1.0&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    }
  });
});
