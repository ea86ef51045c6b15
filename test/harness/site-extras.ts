/**
 * What the dashboard tests add to the site fixture for issue 19's pages:
 * a reproducible-notes checkout (for `notes import`), maintainers rows and a
 * package set,
 * with hostile text where a notes author or a Sources index can put it.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../db/index.js';
import { IMG_INJECTION, INJECTION, type SiteFixture } from './site-fixture.js';

/** A YAML double-quoted string. */
const q = (s: string): string => JSON.stringify(s);

/** Writes `<dir>/notes/` (packages.yml, issues.yml) noting `pkg`, gives bookworm's sources maintainers and configures a set `web`; returns the checkout's path. */
export function addNotesAndMaintainers(f: SiteFixture, pkg: string): string {
  const dir = join(f.dir, 'notes');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'issues.yml'),
    [`captures_build_path:`, `  description: ${q(`the build path is in the binaries ${INJECTION}`)}`, '  url: https://example.org/issues', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'packages.yml'),
    [`${pkg}:`, '  issues: [captures_build_path]', '  bugs: [1000001]', `  comments: ${q(IMG_INJECTION)}`, ''].join('\n'),
  );
  appendFileSync(f.config, `package_sets:\n  web: [${pkg}, not-in-archive]\n`);
  const db = openDb(f.dbPath);
  try {
    const add = db.sql.prepare(
      "INSERT OR IGNORE INTO maintainers (suite, package, email, name, role) SELECT suite, name, ?, ?, ? FROM sources WHERE suite = 'bookworm'",
    );
    add.run('team@lists.example.org', INJECTION, 'maintainer');
    add.run("o'brien+x@example.org", 'Pat O’Brien', 'uploader');
  } finally {
    db.close();
  }
  return dir;
}
