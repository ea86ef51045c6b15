/**
 * Notes through the installed CLI over a real reproducible.db: `notes import`
 * refuses a bad checkout whole, a good one reaches the package pages, the
 * notes lists, the issue pages and the API JSON (escaped), and notes_dir is
 * imported on each render, its changes rendered incrementally.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../db/index.js';
import { createSiteFixture, INJECTION, type SiteFixture } from '../harness/site-fixture.js';
import { renderFixture } from '../harness/site-trees.js';
import { runCli } from '../helpers/cli.js';

let f: SiteFixture;
let ftbfs: string;

function checkout(packages: string, issues: string): string {
  const dir = mkdtempSync(join(f.dir, 'notes-'));
  writeFileSync(join(dir, 'packages.yml'), packages);
  writeFileSync(join(dir, 'issues.yml'), issues);
  return dir;
}

const ISSUES = [
  'captures_build_path:',
  `  description: "the build path ends up in the binaries ${INJECTION.replace(/"/g, '\\"')}"`,
  '  url: https://example.org/build-path',
  'timestamps_in_documentation:',
  '  description: dates in the documentation',
  '',
].join('\n');

function notesFor(pkg: string): string {
  return [
    `${pkg}:`,
    '  version: 0.1-1',
    '  issues:',
    '    - captures_build_path',
    '  bugs: [123456]',
    `  comments: "${INJECTION.replace(/"/g, '\\"')}"`,
    '',
  ].join('\n');
}

function count(table: string): number {
  const db = openDb(f.dbPath);
  try {
    return (db.sql.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function importedAt(): string | undefined {
  const db = openDb(f.dbPath);
  try {
    return (db.sql.prepare("SELECT value FROM notes_meta WHERE key = 'imported_at'").get() as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

const page = (rel: string): string => readFileSync(join(f.siteDir, rel), 'utf8');
const pkgPage = (pkg: string): string => page(`rb-pkg/bookworm/amd64/${pkg}.html`);

beforeAll(() => {
  f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
  const db = openDb(f.dbPath);
  try {
    // one other package of the fixture fails to build: the lists without notes show it
    const r = db.sql
      .prepare("SELECT package FROM results WHERE suite = 'bookworm' AND arch = 'amd64' AND package != ? ORDER BY package LIMIT 1")
      .get(f.ftbrPackage) as { package: string } | undefined;
    if (!r) throw new Error('the site fixture has no second result in bookworm/amd64: the test needs one');
    ftbfs = r.package;
    db.sql.prepare("UPDATE results SET status = 'FTBFS' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(ftbfs);
  } finally {
    db.close();
  }
});

describe('notes import', () => {
  it('refuses a checkout with problems whole, naming the file and line', async () => {
    const dir = checkout(`${notesFor(f.ftbrPackage)}Bad_Name:\n  issues: [no_such_issue]\n`, ISSUES);
    const r = await runCli(['--config', f.config, 'notes', 'import', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${dir}/packages.yml:7: Bad_Name: not a valid Debian source package name`);
    expect(r.stderr).toContain('issue "no_such_issue" is not in issues.yml');
    expect(r.stderr).toContain('nothing was imported');
    expect(count('notes')).toBe(0);
    expect(count('note_issues')).toBe(0);
  });

  it('imports a good checkout; the same again changes nothing', async () => {
    const dir = checkout(notesFor(f.ftbrPackage), ISSUES);
    const r = await runCli(['--config', f.config, '--json', 'notes', 'import', dir]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { unchanged: boolean; packages: { added: number }; issues: { added: number } };
    expect(j).toMatchObject({ unchanged: false, packages: { added: 1 }, issues: { added: 2 } });
    const again = JSON.parse((await runCli(['--config', f.config, '--json', 'notes', 'import', dir])).stdout) as typeof j;
    expect(again).toMatchObject({ unchanged: true, packages: { added: 0 }, issues: { added: 0 } });
  });

  it('shows the notes on the pages, escaped', async () => {
    const r = await runCli(['--config', f.config, 'site']);
    expect(r.code, r.stderr).toBe(0);
    const p = pkgPage(f.ftbrPackage);
    expect(p).toContain('<h2>Notes</h2>');
    expect(p).toContain('href="../../../issues/captures_build_path.html">captures_build_path</a>');
    expect(p).toContain('href="https://bugs.debian.org/123456">#123456</a>');
    expect(p).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(p).not.toContain(INJECTION);

    const withNotes = page('bookworm/amd64/index_notes.html');
    expect(withNotes).toContain(`>${f.ftbrPackage}</a>`);
    expect(withNotes).not.toContain(`>${ftbfs}</a>`);
    expect(page('bookworm/amd64/index_no_notes.html')).toContain(`>${ftbfs}</a>`);
    expect(page('bookworm/amd64/index_FTBR.html')).toContain('index_notes.html');

    const issue = page('issues/captures_build_path.html');
    expect(issue).toContain(`>${f.ftbrPackage}</a></td><td>bookworm</td><td>amd64</td>`);
    expect(issue).toContain('class="st-ftbr"');
    expect(issue).not.toContain(INJECTION);
    expect(page('issues/timestamps_in_documentation.html')).toContain('No current package');
    expect(page('issues/index.html')).toContain('href="../issues/captures_build_path.html"');

    const api = JSON.parse(page(`api/v1/packages/bookworm/amd64/${f.ftbrPackage}.json`)) as { notes: unknown };
    expect(api.notes).toEqual({
      version: '0.1-1',
      issues: ['captures_build_path'],
      bugs: [123456],
      comments: INJECTION,
      issue_pages: ['issues/captures_build_path.html'],
    });
  });

  it('reads notes_dir on each render, renders what changed, keeps the old notes when it is broken', async () => {
    const dir = join(f.dir, 'notes-dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'packages.yml'), notesFor(ftbfs));
    writeFileSync(join(dir, 'issues.yml'), ISSUES.split('timestamps_in_documentation:')[0] ?? '');
    appendFileSync(f.config, `notes_dir: ${dir}\n`);

    const r = await runCli(['--config', f.config, '--json', 'site']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { mode: string }).mode).toBe('incremental');
    expect(pkgPage(f.ftbrPackage)).not.toContain('<h2>Notes</h2>');
    expect(pkgPage(ftbfs)).toContain('<h2>Notes</h2>');
    expect(existsSync(join(f.siteDir, 'issues/timestamps_in_documentation.html'))).toBe(false);
    expect(page('bookworm/amd64/index_notes.html')).toContain(`>${ftbfs}</a>`);

    // the same bytes again: the render does not parse and import them a second time
    const first = importedAt();
    expect((await runCli(['--config', f.config, 'site'])).code).toBe(0);
    expect(importedAt()).toBe(first);
    // another bug number of the same length, the modification time set back: still read and imported
    const pkgs = join(dir, 'packages.yml');
    const { mtime } = statSync(pkgs);
    writeFileSync(pkgs, readFileSync(pkgs, 'utf8').replace('[123456]', '[654321]'));
    utimesSync(pkgs, mtime, mtime);
    expect((await runCli(['--config', f.config, 'site'])).code).toBe(0);
    expect(importedAt()).not.toBe(first);
    expect(pkgPage(ftbfs)).toContain('654321');
    writeFileSync(pkgs, notesFor(ftbfs));

    // a noted package's status changes: the incremental render's notes pages are a full render's
    const db = openDb(f.dbPath);
    try {
      db.sql.prepare("UPDATE results SET status = 'FTBR' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?").run(ftbfs);
      expect((await renderFixture(f, db)).mode).toBe('incremental');
      await renderFixture(f, db, 'public-full', true);
    } finally {
      db.close();
    }
    for (const rel of ['issues/index.html', 'issues/captures_build_path.html', 'bookworm/amd64/index_notes.html', 'reproducible-tracker.json']) {
      expect(page(rel), rel).toBe(readFileSync(join(f.dir, 'public-full', rel), 'utf8'));
    }
    expect(page('issues/captures_build_path.html')).toMatch(
      new RegExp(`>${ftbfs}</a></td><td>bookworm</td><td>amd64</td><td>[^<]+</td><td class="st-ftbr">FTBR<`),
    );

    writeFileSync(join(dir, 'packages.yml'), `${notesFor(ftbfs)}  version: [1, 2]\n`);
    const broken = await runCli(['--config', f.config, 'site']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`${dir}/packages.yml`);
    expect(pkgPage(ftbfs)).toContain('<h2>Notes</h2>');
    expect(count('notes')).toBe(1);
  });
});
