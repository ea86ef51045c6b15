/**
 * The package set pages (issue 19): sets/index.html and one page per
 * configured set on each configured suite/arch (sets/SUITE/ARCH/SET.html),
 * from a read of the DB per suite/arch and set (in an incremental render,
 * only where a member changed). A page is written only when its bytes
 * change; the pages of sets, suites or architectures no longer configured
 * are removed.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setMembers } from '../db/site-sets.js';
import { scopeOf, suiteArchKey, suiteArchs, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import { setEntry, setFile, setsView, setView, type SetEntry, type SetSummary } from './model-sets.js';
import type { RenderPlan } from './plan.js';

export const SETS_DIR = 'sets';

/** What the last render of the set pages saw: the index's entries, and of which sets. */
interface SetsCache {
  version: 1;
  /** sha256 of the configured sets, suites and architectures */
  key: string;
  entries: Record<string, SetEntry>;
}

/**
 * sets/index.html and each set's pages; then the pages no longer configured. An incremental
 * render with the sets of the last one reads again only the sets with a changed member on
 * that suite/arch (the index keeps the others' entries).
 */
export function renderSetPages(ctx: RenderContext, plan: RenderPlan): void {
  const configured = [...ctx.config.packageSets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([set, m]) => [set, [...m].sort()] as const);
  const key = createHash('sha256')
    .update(JSON.stringify([configured, scopeOf(ctx.config)]))
    .digest('hex');
  const cache = new JsonCache<SetsCache>(join(ctx.paths.indexDir, 'sets.json'), (c) => c.version === 1 && typeof c.entries === 'object');
  const kept = plan.full ? undefined : cache.read();
  const since = kept?.key === key ? kept.entries : undefined;
  const entries: Record<string, SetEntry> = {};
  const current = new Set(['index.html']);
  for (const [set, names] of configured) {
    const members = new Set(names);
    for (const { suite, arch } of suiteArchs(ctx.config)) {
      const file = setFile({ suite, arch, set });
      current.add(file);
      const changed = plan.todo.get(suiteArchKey(suite, arch))?.names.some((n) => members.has(n)) ?? false;
      const old = since?.[file];
      if (old && !changed) {
        entries[file] = old;
        continue;
      }
      const rows = setMembers(ctx.reader.db, suite, arch, names);
      const found = new Set(rows.map((r) => r.name));
      const s: SetSummary = { set, suite, arch, rows, missing: names.filter((n) => !found.has(n)) };
      ctx.writer.writeIfChanged(`${SETS_DIR}/${file}`, ctx.renderer.render('set', setView(s)));
      entries[file] = setEntry(s);
    }
  }
  ctx.writer.writeIfChanged(`${SETS_DIR}/index.html`, ctx.renderer.render('sets', setsView(Object.values(entries), plan.asOf)));
  cache.write({ version: 1, key, entries });
  removeGone(ctx, current);
}

/** The .html files under sets/ (two levels of suite/arch) that this render did not write. */
function removeGone(ctx: RenderContext, current: ReadonlySet<string>): void {
  const list = (rel: string): string[] => {
    try {
      return readdirSync(ctx.writer.path(rel === '' ? SETS_DIR : `${SETS_DIR}/${rel}`));
    } catch {
      return [];
    }
  };
  // only the pages this module writes: a dot name (a write in progress) or another file is left alone
  const page = (n: string): boolean => n.endsWith('.html') && !n.startsWith('.');
  for (const suite of list('')) {
    if (page(suite) && !current.has(suite)) ctx.writer.remove(`${SETS_DIR}/${suite}`);
    for (const arch of list(suite)) {
      for (const n of list(`${suite}/${arch}`)) {
        const rel = `${suite}/${arch}/${n}`;
        if (page(n) && !current.has(rel)) ctx.writer.remove(`${SETS_DIR}/${rel}`);
      }
      // a suite or architecture no longer configured leaves no empty folder
      ctx.writer.removeEmptyDir(`${SETS_DIR}/${suite}/${arch}`);
    }
    ctx.writer.removeEmptyDir(`${SETS_DIR}/${suite}`);
  }
}
