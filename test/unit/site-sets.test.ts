/**
 * The package set pages (issue 19, part 2): a render with package_sets
 * configured writes sets/index.html and sets/SUITE/ARCH/SET.html with the
 * right counts, the set's FTBR members linked to their pages, the names the
 * suite lacks shown as such; a set, suite or arch no longer configured loses
 * its pages and folders.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import { createSiteFixture, type SiteFixture } from '../harness/site-fixture.js';
import { renderFixture } from '../harness/site-trees.js';

describe('package set pages', () => {
  let f: SiteFixture;
  let db: FarmDb;
  let yaml: string;
  let statusOf: Map<string, string>;
  let members: string[];
  beforeAll(() => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    db = openDb(f.dbPath);
    yaml = readFileSync(f.config, 'utf8');
    members = [...new Set([f.ftbrPackage, 'bash', 'zlib', 'acl', 'not-in-archive'])];
    appendFileSync(f.config, `package_sets:\n  web: [${members.join(', ')}]\n  gone: [bash]\n`);
    const rows = db.sql.prepare("SELECT package, status FROM results WHERE suite = 'bookworm' AND arch = 'amd64'").all() as {
      package: string;
      status: string;
    }[];
    statusOf = new Map(rows.map((r) => [r.package, r.status]));
  });
  afterAll(() => {
    db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });
  const site = (rel: string): string => join(f.dir, 'public', rel);
  const read = (rel: string): string => readFileSync(site(rel), 'utf8');

  it('writes the index and a page per set with counts, FTBR members linked and missing names', async () => {
    await renderFixture(f, db);
    const inArchive = members.filter((n) => n !== 'not-in-archive');
    const st = (n: string): string => statusOf.get(n) ?? 'untested';
    const ftbr = inArchive.filter((n) => st(n) === 'FTBR');
    expect(ftbr).toContain(f.ftbrPackage);
    const index = read('sets/index.html');
    expect(index).toContain('<a href="./bookworm/amd64/web.html">web</a>');
    expect(index).toContain('<a href="./bookworm/amd64/gone.html">gone</a>');
    const repro = inArchive.filter((n) => st(n) === 'reproducible').length;
    const pct = ((100 * repro) / inArchive.length).toFixed(1);
    expect(index).toContain(`<td>bookworm</td><td>amd64</td><td>${inArchive.length}</td><td>${pct}%</td><td>${ftbr.length}</td>`);
    const page = read('sets/bookworm/amd64/web.html');
    expect(page).toContain(`<td class="st-ftbr">FTBR</td><td>${ftbr.length}</td>`);
    expect(page).toContain(`<td class="st-reproducible">reproducible</td><td>${repro}</td>`);
    expect(page).toContain('<svg viewBox="0 0 100 6"');
    // each FTBR member's link leads to its package page
    const pageFile = site('sets/bookworm/amd64/web.html');
    for (const n of ftbr) {
      const href = new RegExp(`<a href="([^"]*)">${n}</a>`).exec(page)?.[1] ?? '';
      expect(href).toBe(`../../../rb-pkg/bookworm/amd64/${n}.html`);
      expect(existsSync(resolve(dirname(pageFile), decodeURIComponent(href)))).toBe(true);
    }
    expect(page).toMatch(/<h2>Not in bookworm<\/h2>[\s\S]*<li>not-in-archive<\/li>/);
    expect(page).not.toMatch(/<a href="[^"]*">not-in-archive<\/a>/);
    expect(read('index.html')).toContain('<a href="./sets/index.html">Sets</a>');
  });

  it('removes the pages of a set no longer configured', async () => {
    expect(existsSync(site('sets/bookworm/amd64/gone.html'))).toBe(true);
    writeFileSync(f.config, `${yaml}package_sets:\n  web: [${members.join(', ')}]\n`);
    await renderFixture(f, db);
    expect(existsSync(site('sets/bookworm/amd64/gone.html'))).toBe(false);
    expect(existsSync(site('sets/bookworm/amd64/web.html'))).toBe(true);
    expect(read('sets/index.html')).not.toContain('gone');
  });

  it('renders a new status of a member incrementally as a full render does', async () => {
    db.sql.prepare("UPDATE results SET status = 'FTBFS' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'bash'").run();
    expect((await renderFixture(f, db)).mode).toBe('incremental');
    await renderFixture(f, db, 'public-full', true);
    for (const rel of ['sets/index.html', 'sets/bookworm/amd64/web.html']) expect(read(rel), rel).toBe(readFileSync(join(f.dir, 'public-full', rel), 'utf8'));
    expect(read('sets/bookworm/amd64/web.html')).toMatch(/<a href="[^"]*">bash<\/a>/);
  });

  it('leaves no folder of a suite/arch no longer configured', async () => {
    // what a render with trixie/i386 configured left
    mkdirSync(site('sets/trixie/i386'), { recursive: true });
    writeFileSync(site('sets/trixie/i386/web.html'), 'old');
    await renderFixture(f, db);
    expect(existsSync(site('sets/trixie'))).toBe(false);
    expect(existsSync(site('sets/bookworm/amd64/web.html'))).toBe(true);
  });
});
