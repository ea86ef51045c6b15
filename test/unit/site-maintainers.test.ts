/**
 * The maintainer pages (issue 19, part 3): the file name of a person's page,
 * and the pages a render writes from the maintainers table: escaped, with the
 * right packages, unchanged pages not rewritten, a gone person's page removed.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type FarmDb } from '../../db/index.js';
import { maintainerFile } from '../../site/maintainer-files.js';
import { createSiteFixture, type SiteFixture } from '../harness/site-fixture.js';
import { renderFixture } from '../harness/site-trees.js';

describe('maintainerFile', () => {
  it('keeps a plain address and lower-cases one', () => {
    expect(maintainerFile('jane.doe+deb@example.org')).toBe('jane.doe+deb@example.org.html');
    expect(maintainerFile('Jane@Example.ORG')).toBe('jane@example.org.html');
  });

  it('refuses what is not an address, a path among them', () => {
    for (const bad of ['../../etc/passwd', 'x@y/../z', '', 'no-at-sign', 'a@b\0c', 'a b@example.org']) expect(maintainerFile(bad)).toBeNull();
  });

  it('percent-encodes the other characters, % itself and a leading dot', () => {
    expect(maintainerFile("o'neil#1@example.org")).toBe('o%27neil%231@example.org.html');
    expect(maintainerFile('a%27b@example.org')).toBe('a%2527b@example.org.html');
    expect(maintainerFile('.hidden@example.org')).toBe('%2ehidden@example.org.html');
    // a slash is allowed in an address, never in a file name
    expect(maintainerFile('a/b@example.org')).toBe('a%2fb@example.org.html');
    // no name a browser or server reads as a path or a hidden file
    for (const e of ["o'neil#1@example.org", '.x@example.org', '`{|}~@example.org', '../x@example.org']) {
      const name = maintainerFile(e) ?? '';
      expect(name).toMatch(/^[a-z0-9@._+%-]+\.html$/);
      expect(name.startsWith('.')).toBe(false);
    }
  });

  it('cuts a long name and keeps it unique with a hash', () => {
    const a = `${'a'.repeat(60)}@${'b'.repeat(100)}.example.org`;
    const b = `${'a'.repeat(60)}@${'b'.repeat(100)}.example.net`;
    const fa = maintainerFile(a) ?? '';
    const fb = maintainerFile(b) ?? '';
    expect(fa.length).toBeLessThanOrEqual(110);
    expect(fa.length).toBeGreaterThan(100);
    expect(fa).not.toBe(fb);
    expect(fa.startsWith('a'.repeat(60))).toBe(true);
    // a long name of encoded characters is not cut inside a %XX
    const pct = maintainerFile(`${'#'.repeat(60)}@example.org`) ?? '';
    expect(pct).toMatch(/^(%23)+-[0-9a-f]{17}-*\.html$/);
    // a name left whole is never as long as a cut one
    expect((maintainerFile(`${'c'.repeat(64)}@example.org`) ?? '').length).toBeLessThanOrEqual(105);
  });
});

describe('maintainer pages', () => {
  let f: SiteFixture;
  let db: FarmDb;
  const HOSTILE = '<script>alert(1)</script>';
  beforeAll(() => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    db = openDb(f.dbPath);
    const add = db.sql.prepare("INSERT INTO maintainers (suite, package, email, name, role) VALUES ('bookworm', ?, ?, ?, ?)");
    add.run('hello', 'evil@example.org', HOSTILE, 'maintainer');
    add.run('bash', 'evil@example.org', HOSTILE, 'uploader');
    add.run('zlib', 'jane@example.org', 'Jane Doe', 'maintainer');
    add.run('acl', 'gone@example.org', 'Gone Soon', 'maintainer');
    add.run('perl', "o'neil%x@example.org", 'Pat', 'maintainer');
  });
  afterAll(() => {
    db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });
  const dir = (): string => join(f.dir, 'public', 'maintainers');
  const read = (name: string): string => readFileSync(join(dir(), name), 'utf8');

  it('lists everyone on the index, escaped, and each person their packages', async () => {
    await renderFixture(f, db);
    const index = read('index.html');
    expect(index).toContain('<table class="sortable filterable">');
    expect(index).not.toContain(HOSTILE);
    expect(index).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(index).toContain('<a href="./evil%40example.org.html">');
    expect(index).toMatch(/<td>evil@example.org<\/td><td>2<\/td>/);
    const evil = read('evil@example.org.html');
    expect(evil).not.toContain(HOSTILE);
    expect(evil).toContain('<a href="../rb-pkg/bookworm/amd64/hello.html">hello</a>');
    expect(evil).toContain('<a href="../rb-pkg/bookworm/amd64/bash.html">bash</a>');
    expect(evil).not.toContain('zlib');
    expect(evil).toContain('<td>uploader</td>');
    expect(evil).toContain('<a href="../maintainers/index.html" aria-current');
    expect(read('jane@example.org.html')).toContain('>zlib</a>');
    // an encoded name's link leads to its file, as a server decodes it
    const href = /<a href="\.\/([^"]*)">Pat<\/a>/.exec(index)?.[1] ?? '';
    expect(decodeURIComponent(href)).toBe('o%27neil%25x@example.org.html');
    expect(read(decodeURIComponent(href))).toContain('>perl</a>');
    expect(readFileSync(join(f.dir, 'public', 'index.html'), 'utf8')).toContain('<a href="./maintainers/index.html">Maintainers</a>');
  });

  it('leaves unchanged pages alone and removes the page of a person gone', async () => {
    const before = statSync(join(dir(), 'jane@example.org.html')).mtimeMs;
    db.sql.prepare("DELETE FROM maintainers WHERE email = 'gone@example.org'").run();
    await renderFixture(f, db);
    expect(existsSync(join(dir(), 'gone@example.org.html'))).toBe(false);
    expect(read('index.html')).not.toContain('gone@example.org');
    expect(statSync(join(dir(), 'jane@example.org.html')).mtimeMs).toBe(before);
    expect(readdirSync(dir()).sort()).toEqual(['evil@example.org.html', 'index.html', 'jane@example.org.html', 'o%27neil%25x@example.org.html']);
  });

  it("renders again, incrementally, the page and index counts of a person whose package's status changed", async () => {
    db.sql.prepare("UPDATE results SET status = 'FTBR' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'zlib'").run();
    const s = await renderFixture(f, db);
    expect(s.mode).toBe('incremental');
    expect(read('jane@example.org.html')).toMatch(/>zlib<\/a><\/td><td>[^<]*<\/td><td class="st-ftbr">FTBR</);
    expect(read('index.html')).toMatch(/<td>jane@example.org<\/td><td>1<\/td><td>1<\/td>/);
    // the same as a full render makes
    const incremental = read('index.html');
    await renderFixture(f, db, 'public', true);
    expect(read('index.html')).toBe(incremental);
  });
});

describe('maintainer pages, spliced', () => {
  let f: SiteFixture;
  let db: FarmDb;
  const TEAM = 'team@lists.example.org';
  beforeAll(async () => {
    f = createSiteFixture({ suites: ['bookworm', 'trixie'], arches: ['amd64', 'arm64'] });
    db = openDb(f.dbPath);
    const add = db.sql.prepare('INSERT INTO maintainers (suite, package, email, name, role) VALUES (?, ?, ?, ?, ?)');
    for (const suite of ['bookworm', 'trixie'])
      for (const p of db.sql.prepare('SELECT name FROM sources WHERE suite = ?').pluck().all(suite) as string[]) {
        add.run(suite, p, TEAM, 'The Team', 'maintainer');
        if (p === 'zlib' || p === 'perl') add.run(suite, p, 'jane@example.org', 'Jane Doe', 'uploader');
        if (p === 'hello') add.run(suite, p, 'other@example.org', 'Other One', 'uploader');
      }
    await renderFixture(f, db);
  });
  afterAll(() => {
    db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });
  const page = (site: string, name: string): string => readFileSync(join(f.dir, site, 'maintainers', name), 'utf8');
  let n = 0;
  const sameAsFull = async (): Promise<void> => {
    const full = `public-full-${++n}`;
    await renderFixture(f, db, full, true);
    const files = (site: string): string[] => readdirSync(join(f.dir, site, 'maintainers')).sort();
    expect(files('public')).toEqual(files(full));
    for (const name of files(full)) expect(page('public', name), name).toBe(page(full, name));
  };

  it("splices a changed package's lines into a team's page, the rest copied as it was", async () => {
    // a byte of another row changed without changing the page's size: a splice copies it, a render would not
    const file = join(f.dir, 'public', 'maintainers', `${TEAM}.html`);
    const before = readFileSync(file, 'utf8');
    expect(before).toContain('>acl</a></td><td>');
    writeFileSync(file, before.replace('>acl</a>', '>acm</a>'));
    // and the index's row of someone not touched
    const indexFile = join(f.dir, 'public', 'maintainers', 'index.html');
    writeFileSync(indexFile, readFileSync(indexFile, 'utf8').replace('>Other One</a>', '>Other Two</a>'));
    // and that person's entry in the people file (a line each, spliced too)
    const peopleFile = join(f.dir, 'public', '.reprofarm', 'index', 'maintainers.people.jsonl');
    const swap = (from: string, to: string): void => writeFileSync(peopleFile, readFileSync(peopleFile, 'utf8').replace(from, to));
    swap('"name":"Other One"', '"name":"Other Two"');
    db.sql.prepare("UPDATE results SET status = 'FTBR' WHERE suite = 'trixie' AND arch = 'arm64' AND package = 'zlib'").run();
    expect((await renderFixture(f, db)).mode).toBe('incremental');
    const after = page('public', `${TEAM}.html`);
    expect(after).toContain('>acm</a>');
    expect(page('public', 'index.html')).toContain('>Other Two</a>');
    writeFileSync(indexFile, readFileSync(indexFile, 'utf8').replace('>Other Two</a>', '>Other One</a>'));
    expect(readFileSync(peopleFile, 'utf8')).toContain('"name":"Other Two"');
    swap('"name":"Other Two"', '"name":"Other One"');
    expect(after).toMatch(/<td>trixie<\/td><td>arm64<\/td><td><a href="[^"]*">zlib<\/a><\/td><td>[^<]*<\/td><td class="st-ftbr">FTBR</);
    writeFileSync(file, after.replace('>acm</a>', '>acl</a>'));
    await sameAsFull();
  });

  it('splices a package that left a suite out, and counts it on the index', async () => {
    db.sql.prepare("UPDATE sources SET removed_at = '2026-11-21T09:00:00.000Z' WHERE suite = 'trixie' AND name = 'perl'").run();
    await renderFixture(f, db);
    expect(page('public', 'jane@example.org.html')).not.toMatch(/<td>trixie<\/td><td>amd64<\/td><td><a href="[^"]*">perl</);
    await sameAsFull();
  });

  it('renders every page again when the people file is not as it was written', async () => {
    const peopleFile = join(f.dir, 'public', '.reprofarm', 'index', 'maintainers.people.jsonl');
    writeFileSync(peopleFile, `${readFileSync(peopleFile, 'utf8')}x`);
    db.sql.prepare("UPDATE results SET status = 'FTBFS' WHERE suite = 'bookworm' AND arch = 'amd64' AND package = 'hello'").run();
    expect((await renderFixture(f, db)).mode).toBe('incremental');
    expect(readFileSync(peopleFile, 'utf8').endsWith('x')).toBe(false);
    await sameAsFull();
  });

  it('renders whole the page of a person whose own rows changed, and of one whose first row changed', async () => {
    db.sql
      .prepare("INSERT INTO maintainers (suite, package, email, name, role) VALUES ('bookworm', 'bash', 'jane@example.org', 'Jane D.', 'maintainer')")
      .run();
    await renderFixture(f, db);
    expect(page('public', 'jane@example.org.html')).toContain('<h1>Jane D.</h1>');
    await sameAsFull();
    db.sql.prepare("UPDATE sources SET removed_at = '2026-11-21T10:00:00.000Z' WHERE suite = 'bookworm' AND name = 'acl'").run();
    await renderFixture(f, db);
    await sameAsFull();
  });
});
