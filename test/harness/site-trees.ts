/** Rendering a site fixture into a site_dir of its own, and comparing two rendered sites. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from '../../core/config.js';
import type { FarmDb } from '../../db/index.js';
import { buildSite, type SiteOptions } from '../../site/build.js';
import type { SiteFixture } from './site-fixture.js';

/** Render the fixture's DB into `<fixture>/<siteDir>` (incremental unless `full`), with a config of that site_dir. */
export function renderFixture(
  f: SiteFixture,
  db: FarmDb,
  siteDir = 'public',
  full = false,
  opts: Omit<SiteOptions, 'full'> = {},
): ReturnType<typeof buildSite> {
  const cfg = join(f.dir, `${siteDir}.yaml`);
  writeFileSync(cfg, readFileSync(f.config, 'utf8').replace('site_dir: ./public', `site_dir: ./${siteDir}`));
  return buildSite(loadConfig({ path: cfg }).config, db, { ...opts, full });
}

/** Every file under `dir` (but the builder's own bookkeeping) with its sha256. */

export function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.reprofarm') walk(p);
      } else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** The files that differ between two trees, or are in one only. */
export function diffTrees(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${b.has(k) ? 'differs' : 'only in the first'}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`${k}: only in the second`);
  return out.sort();
}
