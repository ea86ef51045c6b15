/**
 * A suite/arch's list pages, rendered with its status pages (status-pages.ts):
 *
 * - `index_all_abc.html`, every package by name: from the listing, or, when a
 *   few packages changed, spliced in the same splice as the status pages (one
 *   line per package, sorted by name);
 * - `index_last_24h.html` and `index_last_48h.html`: rendered every time
 *   their suite/arch's status pages are, and written when their bytes
 *   changed. Their window ends at the DB's newest timestamp, so a suite/arch
 *   with no new result still has its pages rendered once its oldest row
 *   leaves the window (`listsDue`, asked when the render plans its status
 *   tasks). Their rows (at most two days of results) are kept in the state:
 *   a splice takes the changed packages' rows out, puts their fresh ones in
 *   and drops what left the window, with no query (a range of an index, but
 *   one row lookup per result: most of a splice's time).
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

/** What the recent pages show of a row. */
export type RecentRow = Pick<ListRow, 'package' | 'version' | 'status' | 'build_date'>;

export interface ListPagesState {
  version: 2;
  /** index_all_abc.html's rows and the byte size it was written with */
  allCount: number;
  allSize: number;
  /** the asOf the recent pages were rendered at, and when their oldest row leaves its window (null: never) */
  asOf: string | null;
  due: string | null;
  /** the rows of the longest recent page, as rendered at asOf */
  recent: RecentRow[];
}

export function listPagesState(fragmentDir: string, suite: string, arch: string): JsonCache<ListPagesState> {
  return new JsonCache<ListPagesState>(
    join(fragmentDir, `${suite}_${arch}.lists.json`),
    (v) => v.version === 2 && typeof v.allCount === 'number' && typeof v.allSize === 'number' && Array.isArray(v.recent),
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

/** The changed packages of a splice, with their fresh rows, and what the last render kept. */
export interface RecentChanges {
  state: ListPagesState | undefined;
  names: readonly string[];
  fresh: readonly ListRow[];
}

/**
 * The two recent pages, from one read of the last 48 hours (or, in a splice, the rows the last
 * render kept, brought up to date); returns the pages written, when a row leaves its window, and
 * the rows for the state.
 */
export function renderRecentPages(
  ctx: BatchContext,
  suite: string,
  arch: string,
  statuses: readonly string[],
  write: (rel: string, html: Buffer) => boolean,
  changes?: RecentChanges,
): { written: number; due: string | null; recent: RecentRow[] } {
  const longest = Math.max(...LIST_PAGES.map((p) => p.hours ?? 0));
  const asOf = ctx.asOf;
  const recent = asOf ? recentRows(ctx, suite, arch, windowStart(asOf, longest), changes) : [];
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
  return { written, due, recent };
}

/**
 * The rows tested since `since`, newest first (then by name, as the query orders them). The
 * last render's rows serve when the window only moved on: every result or source that changed
 * since is one of the changed packages (the DB's change log says so), whose fresh rows replace theirs.
 */
function recentRows(ctx: BatchContext, suite: string, arch: string, since: string, changes: RecentChanges | undefined): RecentRow[] {
  const s = changes?.state;
  if (!changes || !s || s.asOf === null || ctx.asOf === null || ctx.asOf < s.asOf) {
    return ctx.reader.snapshot(() => recentListing(ctx.reader.db, suite, arch, since)).map(recentRow);
  }
  const names = new Set(changes.names);
  return [...s.recent.filter((r) => !names.has(r.package)), ...changes.fresh.map(recentRow)]
    .filter((r) => (r.build_date ?? '') > since)
    .sort((a, b) => cmp(b.build_date ?? '', a.build_date ?? '') || cmp(a.package, b.package));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const recentRow = (r: ListRow): RecentRow => ({ package: r.package, version: r.version, status: r.status, build_date: r.build_date });
