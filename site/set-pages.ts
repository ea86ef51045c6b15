/**
 * The package set pages (issue 19): sets/index.html and one page per
 * configured set on each configured suite/arch (sets/SUITE/ARCH/SET.html),
 * from a read of the DB per suite/arch and set every render. A page is
 * written only when its bytes change; the pages of sets, suites or
 * architectures no longer configured are removed.
 */
import { readdirSync } from 'node:fs';
import { setMembers } from '../db/site-sets.js';
import { suiteArchs, type RenderContext } from './context.js';
import { setFile, setsView, setView, type SetSummary } from './model-sets.js';
import type { RenderPlan } from './plan.js';

export const SETS_DIR = 'sets';

/** sets/index.html and each set's pages; then the pages no longer configured. */
export function renderSetPages(ctx: RenderContext, plan: RenderPlan): void {
  const sets: SetSummary[] = [];
  for (const [set, members] of [...ctx.config.packageSets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const names = [...members].sort();
    for (const { suite, arch } of suiteArchs(ctx.config)) {
      const rows = setMembers(ctx.reader.db, suite, arch, names);
      const found = new Set(rows.map((r) => r.name));
      sets.push({ set, suite, arch, rows, missing: names.filter((n) => !found.has(n)) });
    }
  }
  ctx.writer.writeIfChanged(`${SETS_DIR}/index.html`, ctx.renderer.render('sets', setsView(sets, plan.asOf)));
  const current = new Set(['index.html']);
  for (const s of sets) {
    current.add(setFile(s));
    ctx.writer.writeIfChanged(`${SETS_DIR}/${setFile(s)}`, ctx.renderer.render('set', setView(s)));
  }
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
