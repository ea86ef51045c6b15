/**
 * A suite/arch's list pages, rendered with its status pages (status-pages.ts):
 *
 * - `index_all_abc.html`, every package by name: from the listing, or, when a
 *   few packages changed, spliced in the same splice as the status pages (one
 *   line per package, sorted by name);
 * - `index_last_24h.html` and `index_last_48h.html`: read whole every time
 *   their suite/arch's status pages are rendered (a range of an index, at most
 *   two days of results), and written when their bytes changed. Their window
 *   ends at the DB's newest timestamp, so a suite/arch with no new result
 *   still has its pages rendered once its oldest row leaves the window
 *   (`listsDue`, asked when the render plans its status tasks).
 *
 * `<suite>_<arch>.lists.json` beside the JSON fragment says what the last
 * render wrote.
 */
import { join } from 'node:path';
import { recentListing } from '../db/site-lists.js';
import type { ListRow } from '../db/site.js';
import { JsonCache } from './json-cache.js';
import { LIST_PAGES, listPageName, listPageOf, listRowHtml, windowStart } from './model-lists.js';
import type { BatchContext } from './packages.js';
import { bytes, NotSpliceable } from './splice-lines.js';
import type { Splice, SplicedRows } from './status-pages.js';

export interface ListPagesState {
  version: 1;
  /** index_all_abc.html's rows and the byte size it was written with */
  allCount: number;
  allSize: number;
  /** the asOf the recent pages were rendered at, and when their oldest row leaves its window (null: never) */
  asOf: string | null;
  due: string | null;
}

export function listPagesState(fragmentDir: string, suite: string, arch: string): JsonCache<ListPagesState> {
  return new JsonCache<ListPagesState>(
    join(fragmentDir, `${suite}_${arch}.lists.json`),
    (v) => v.version === 1 && typeof v.allCount === 'number' && typeof v.allSize === 'number',
  );
}

function allPath(suite: string, arch: string): string {
  return `${suite}/${arch}/${listPageName('all_abc')}`;
}

/** Whether a suite/arch without changes needs its list pages rendered: never rendered, or a row left its window. */
export function listsDue(fragmentDir: string, suite: string, arch: string, asOf: string | null): boolean {
  const s = listPagesState(fragmentDir, suite, arch).read();
  if (!s) return true;
  if (s.asOf !== asOf && (asOf === null || s.asOf === null || asOf < s.asOf)) return true;
  return s.due !== null && asOf !== null && asOf >= s.due;
}

/** index_all_abc.html from the whole listing; returns what its state records. */
export function renderAllFromListing(
  ctx: BatchContext,
  suite: string,
  arch: string,
  listing: readonly ListRow[],
  statuses: readonly string[],
  write: (rel: string, html: Buffer) => boolean,
): { written: number; allCount: number; allSize: number } {
  const rows = listing.map((r) => listRowHtml(suite, arch, r)).join('');
  const html = Buffer.from(ctx.renderer.render('lists', listPageOf(suite, arch, 'all_abc', listing.length, rows, statuses)));
  return { written: write(allPath(suite, arch), html) ? 1 : 0, allCount: listing.length, allSize: html.length };
}

/** index_all_abc.html spliced with the status pages: the changed packages' lines replaced, removed or put in. */
export function spliceAll(splice: Splice, suite: string, arch: string, state: ListPagesState | undefined, fresh: readonly ListRow[]): SplicedRows {
  if (!state) throw new NotSpliceable('no state of the list pages from the last render');
  const lines = new Map(fresh.map((r) => [bytes(r.package), Buffer.from(listRowHtml(suite, arch, r))]));
  return splice.rows({ rel: allPath(suite, arch), size: state.allSize, before: state.allCount, lines });
}

/** Write a spliced index_all_abc.html; returns its count and size for the state. */
export function writeSplicedAll(
  splice: Splice,
  s: SplicedRows,
  suite: string,
  arch: string,
  statuses: readonly string[],
  mark: string,
): { allCount: number; allSize: number } {
  const size = s.changed ? splice.write(s, listPageOf(suite, arch, 'all_abc', s.count, mark, statuses), 'lists') : s.size;
  return { allCount: s.count, allSize: size };
}

/** The two recent pages, from one read of the last 48 hours; returns the pages written and when a row leaves its window. */
export function renderRecentPages(
  ctx: BatchContext,
  suite: string,
  arch: string,
  statuses: readonly string[],
  write: (rel: string, html: Buffer) => boolean,
): { written: number; due: string | null } {
  const longest = Math.max(...LIST_PAGES.map((p) => p.hours ?? 0));
  const asOf = ctx.asOf;
  const recent = asOf ? ctx.reader.snapshot(() => recentListing(ctx.reader.db, suite, arch, windowStart(asOf, longest))) : [];
  let written = 0;
  let due: string | null = null;
  for (const p of LIST_PAGES) {
    if (p.hours === null) continue;
    const since = asOf ? windowStart(asOf, p.hours) : '';
    const rows = recent.filter((r) => (r.build_date ?? '') > since);
    const html = ctx.renderer.render(
      'lists',
      listPageOf(suite, arch, p.id, rows.length, rows.map((r) => listRowHtml(suite, arch, r)).join(''), statuses, rows[0]?.build_date),
    );
    if (write(`${suite}/${arch}/${listPageName(p.id)}`, Buffer.from(html))) written++;
    const oldest = rows[rows.length - 1]?.build_date;
    if (oldest) {
      const leaves = new Date(Date.parse(oldest) + p.hours * 3_600_000).toISOString();
      if (due === null || leaves < due) due = leaves;
    }
  }
  return { written, due };
}
