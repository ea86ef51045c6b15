import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appliesTo } from '../../archive/arch.js';
import { parseMaintainers } from '../../archive/maintainers.js';
import { applySources, type SourceInput } from '../../db/archive.js';
import { openDb, type FarmDb } from '../../db/index.js';
import { MIGRATIONS } from '../../db/migrations.js';
import { maintainersOf, packagesOf } from '../../db/maintainers.js';

const NOW = new Date('2026-12-01T00:00:00Z');

function entry(name: string, maintainer: string, uploaders?: string, version = '1.0'): SourceInput {
  return {
    name,
    version,
    architecture: 'any',
    directory: `pool/main/${name[0]}/${name}`,
    dscName: `${name}_${version}.dsc`,
    dscSha256: 'a'.repeat(64),
    dscSize: 100,
    maintainers: parseMaintainers(maintainer, uploaders).people,
  };
}

function sync(db: FarmDb, entries: SourceInput[]): void {
  applySources(db, 'sid', ['amd64'], new Map(entries.map((e) => [e.name, e])), {
    now: NOW,
    blacklist: new Set(),
    policy: { maxPerArch: 0, minAgeDays: 30, retryFailedDays: 3 },
    appliesTo,
  });
}

const emailsLogged = (db: FarmDb): (string | null)[] =>
  (db.sql.prepare('SELECT email FROM site_changes WHERE email IS NOT NULL ORDER BY seq').pluck().all() as string[]).sort();

describe('maintainers table, written by sync', () => {
  it('records each current source’s people, replaces them when they change and drops those of packages that left', () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-maint-')), 'r.db'));
    sync(db, [entry('hello', 'Santiago <santiago@debian.org>', '"Doe, Jane" <jane@x.org>'), entry('sl', 'Jane D <Jane@X.org>')]);
    expect(maintainersOf(db, 'sid', 'hello')).toEqual([
      { email: 'santiago@debian.org', name: 'Santiago', role: 'maintainer' },
      { email: 'jane@x.org', name: 'Doe, Jane', role: 'uploader' },
    ]);
    expect(packagesOf(db, 'JANE@x.org').map((p) => [p.package, p.role])).toEqual([
      ['hello', 'uploader'],
      ['sl', 'maintainer'],
    ]);
    expect(emailsLogged(db)).toEqual(['jane@x.org', 'jane@x.org', 'santiago@debian.org']);

    // the same index again: nothing written, nothing logged
    db.sql.exec('DELETE FROM site_changes');
    sync(db, [entry('hello', 'Santiago <santiago@debian.org>', '"Doe, Jane" <jane@x.org>'), entry('sl', 'Jane D <Jane@X.org>')]);
    expect(emailsLogged(db)).toEqual([]);

    // a new uploader for hello; sl leaves the suite: the old and new people's pages are named in the log
    sync(db, [entry('hello', 'Santiago <santiago@debian.org>', 'Bob <bob@x.org>', '1.1')]);
    expect(maintainersOf(db, 'sid', 'hello').map((p) => p.email)).toEqual(['santiago@debian.org', 'bob@x.org']);
    expect(maintainersOf(db, 'sid', 'sl')).toEqual([]);
    expect(packagesOf(db, 'jane@x.org')).toEqual([]);
    expect(emailsLogged(db)).toContain('jane@x.org');
    expect(emailsLogged(db)).toContain('bob@x.org');
  });

  it('keeps the rows of entries that were not parsed for people', () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-maint-')), 'r.db'));
    sync(db, [entry('hello', 'A <a@x.org>')]);
    const { maintainers: _, ...bare } = entry('hello', 'A <a@x.org>');
    sync(db, [bare]);
    expect(maintainersOf(db, 'sid', 'hello').map((p) => p.email)).toEqual(['a@x.org']);
  });

  it('migration 13 gives the change log a maintainer column and empties the synced indexes’ checksums', () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-maint-')), 'r.db'));
    expect(db.sql.prepare("SELECT name FROM pragma_table_info('site_changes')").pluck().all()).toContain('email');
    const m13 = MIGRATIONS.find((m) => m.version === 13);
    expect(m13?.sql).toContain("UPDATE sync_state SET sources_sha256 = ''");
  });
});
