/**
 * breakages.html (issue 19, point 4): each kind of breakage found, with its
 * advice, escaped, and an incremental render equal to a full one.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import { CHECKS } from '../../site/breakages.js';
import { createSiteFixture, INJECTION, type SiteFixture } from '../harness/site-fixture.js';
import { diffTrees, renderFixture, tree } from '../harness/site-trees.js';

/** A check's section of the page. */
function section(html: string, name: string): string {
  const m = new RegExp(`<section class="check" id="${name}">([^]*?)</section>`).exec(html);
  if (!m) throw new Error(`no section ${name} on breakages.html`);
  return m[1] ?? '';
}

describe('breakages.html', () => {
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
  const page = (siteDir = 'public'): string => readFileSync(join(f.dir, siteDir, 'breakages.html'), 'utf8');

  it('has one section per check, linked from every page', async () => {
    await render();
    const html = page();
    for (const c of CHECKS) expect(html).toContain(`<section class="check" id="${c.name}">`);
    expect(readFileSync(join(f.dir, 'public', 'index.html'), 'utf8')).toContain('<a href="./breakages.html">Breakages</a>');
    // the FTBR package with its logs and report is not broken; the others have no logs on this main node
    const logs = section(html, 'missing-log');
    expect(logs).not.toContain(`>${f.ftbrPackage} `);
    const other = db.sql
      .prepare("SELECT package FROM results WHERE suite = 'bookworm' AND arch = 'amd64' AND build_id IS NOT NULL AND package <> ? ORDER BY package LIMIT 1")
      .pluck()
      .get(f.ftbrPackage) as string;
    expect(logs).toContain(`<code>reprofarm schedule bookworm amd64 ${other} (a new build brings its logs)</code>`);
    expect(section(html, 'missing-report')).toContain('<p>None.</p>');
  });

  it('finds each kind, says how to mend it, escapes what the rows carry, and renders incrementally as in full', async () => {
    // a report gone from state_dir
    const report = db.sql
      .prepare("SELECT b.report FROM results r JOIN builds b ON b.id = r.build_id WHERE r.suite = 'bookworm' AND r.arch = 'amd64' AND r.package = ?")
      .pluck()
      .get(f.ftbrPackage) as string;
    rmSync(report);
    db.sql.prepare("UPDATE results SET build_date = build_date WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(f.ftbrPackage);
    // a claim long past both timeouts, by a job with a hostile name
    db.sql
      .prepare(
        `INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at, claimed_by, claimed_at)
        VALUES ('bookworm', 'amd64', 'stuck', '1.0-1', 0, 'new', 'sync', '2026-01-01T00:00:00.000Z', ?, '2026-01-01T00:00:00.000Z')`,
      )
      .run(INJECTION);
    // a result of a package that left the suite
    const gone = db.sql
      .prepare("SELECT package FROM results WHERE suite = 'bookworm' AND arch = 'amd64' AND package <> ? ORDER BY package DESC LIMIT 1")
      .pluck()
      .get(f.ftbrPackage) as string;
    db.sql.prepare("UPDATE sources SET removed_at = '2026-11-19T00:00:00.000Z' WHERE suite = 'bookworm' AND name = ?").run(gone);
    // a node not collected for a month
    db.sql.prepare("UPDATE nodes SET last_collected_at = '2026-10-20T00:00:00.000Z' WHERE name = 'node-c'").run();
    // a work order no claim holds
    mkdirSync(join(f.stateDir, 'builds', 'node-a', 'bookworm', 'amd64', 'orphan'), { recursive: true });
    writeFileSync(join(f.stateDir, 'builds', 'node-a', 'bookworm', 'amd64', 'orphan', '2.0-1'), 'SOURCE=orphan\n');
    await render();
    const html = page();
    expect(section(html, 'missing-report')).toContain(
      `<code>reprofarm schedule bookworm amd64 ${f.ftbrPackage} (a new build compares again and writes its report)</code>`,
    );
    const claim = section(html, 'stale-claim');
    expect(claim).toContain('stuck 1.0-1 bookworm/amd64');
    expect(claim).toContain('<code>reprofarm cleanup (cleans its nodes and gives the claim back to the schedule)</code>');
    expect(claim).not.toContain(INJECTION);
    expect(claim).toContain('claimed by &lt;script&gt;window.__pwned = 1&lt;/script&gt; at 2026-01-01');
    expect(section(html, 'left-suite')).toContain(`${gone} `);
    expect(section(html, 'left-suite')).toContain('<code>reprofarm sync bookworm if the mirror lists it again');
    const facts = section(html, 'stale-facts');
    expect(facts).toContain('<a href="./nodes.html#node-node-c">node-c</a>');
    expect(facts).toContain('<code>reprofarm collect node-c');
    expect(facts).not.toContain('node-a<');
    const orders = section(html, 'orphan-order');
    expect(orders).toContain('builds/node-a/bookworm/amd64/orphan/2.0-1');
    expect(orders).toContain('<code>reprofarm cleanup (removes them');
    await render('full-1', true);
    // (the published copy of the removed report stays until the package's next build: not this page's business)
    expect(diffTrees(tree(join(f.dir, 'public')), tree(join(f.dir, 'full-1'))).filter((d) => !d.startsWith('dbd/'))).toEqual([]);
  });
});
