/**
 * The view models of a suite/arch's own pages: a status page per status
 * (`<SUITE>/<ARCH>/index_<STATUS>.html`), the schedule page
 * (`index_scheduled.html`), and its rows of reproducible.json.
 */
import { STATUSES } from '../core/statuses.js';
import type { ListRow, ScheduleRow } from '../db/site.js';
import { escapeHtml, fmtDate, rootFrom, statusClass } from './format.js';
import { packageHref, pageBase, scheduledHref, statusHref, STATUS_HELP, type PageBase } from './model.js';

export interface StatusPageView extends PageBase {
  suite: string;
  arch: string;
  status: string;
  cls: string;
  help: string;
  /** how many packages have this status */
  count: number;
  /** the table's rows, already escaped (statusRowHtml): one line per package, sorted by name */
  rowsHtml: string;
  others: { status: string; href: string; current: boolean }[];
  scheduledHref: string;
}

/** A suite/arch's listing split by status, every status present (in the order of STATUSES, then any other). */
export function groupByStatus(listing: readonly ListRow[]): Map<string, ListRow[]> {
  const by = new Map<string, ListRow[]>(STATUSES.map((s) => [s, []]));
  for (const r of listing) {
    let l = by.get(r.status);
    if (!l) by.set(r.status, (l = []));
    l.push(r);
  }
  return by;
}

/**
 * One row of a status page: a single line, escaped here rather than in the
 * template, so that an incremental render can replace a package's line in the
 * page it rendered before (site/status-pages.ts) and get the bytes a full
 * render would.
 */
export function statusRowHtml(suite: string, arch: string, r: ListRow): string {
  return (
    `<tr><td><a href="${escapeHtml(packageHref(rootFrom(2), suite, arch, r.package))}">${escapeHtml(r.package)}</a></td>` +
    `<td>${escapeHtml(r.version)}</td><td data-sort="${escapeHtml(r.build_date ?? '')}">${escapeHtml(fmtDate(r.build_date))}</td></tr>\n`
  );
}

/** One status page of a suite/arch from its rows' lines; `statuses` are all the statuses it links to. */
export function statusPageOf(suite: string, arch: string, status: string, count: number, rowsHtml: string, statuses: readonly string[]): StatusPageView {
  const root = rootFrom(2);
  const base = pageBase(`${suite}/${arch}: ${status} (${count})`, 2, undefined, '');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    suite,
    arch,
    status,
    cls: statusClass(status),
    help: STATUS_HELP[status] ?? '',
    count,
    rowsHtml,
    others: statuses.map((s) => ({ status: s, href: statusHref(root, suite, arch, s), current: s === status })),
    scheduledHref: scheduledHref(root, suite, arch),
  };
}

export function statusPage(suite: string, arch: string, status: string, rows: readonly ListRow[], statuses: readonly string[]): StatusPageView {
  return statusPageOf(suite, arch, status, rows.length, rows.map((r) => statusRowHtml(suite, arch, r)).join(''), statuses);
}

export function statusPages(suite: string, arch: string, listing: readonly ListRow[]): StatusPageView[] {
  const by = groupByStatus(listing);
  const statuses = [...by.keys()];
  return statuses.map((status) => statusPage(suite, arch, status, by.get(status) ?? [], statuses));
}

export interface ScheduledView extends PageBase {
  suite: string;
  arch: string;
  building: { package: string; href: string; version: string; job: string; since: string }[];
  waiting: { package: string; href: string; version: string; priority: number; reason: string; scheduledAt: string; by: string }[];
  statusesHref: string;
}

/** A suite/arch's schedule. It shows no "as of": it is written again only when its rows change. */
export function scheduledView(suite: string, arch: string, rows: readonly ScheduleRow[]): ScheduledView {
  const root = rootFrom(2);
  const current = new Set(rows.filter((r) => r.current).map((r) => r.package));
  const href = (p: string): string => (current.has(p) ? packageHref(root, suite, arch, p) : '');
  const base = pageBase(`${suite}/${arch}: scheduled and building`, 2, undefined, '');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    suite,
    arch,
    building: rows
      .filter((r) => r.claimed_at !== null)
      .map((r) => ({ package: r.package, href: href(r.package), version: r.version, job: r.claimed_by ?? '', since: fmtDate(r.claimed_at) })),
    waiting: rows
      .filter((r) => r.claimed_at === null)
      .map((r) => ({
        package: r.package,
        href: href(r.package),
        version: r.version,
        priority: r.priority,
        reason: r.reason,
        scheduledAt: fmtDate(r.scheduled_at),
        by: r.scheduled_by,
      })),
    statusesHref: statusHref(root, suite, arch, 'reproducible'),
  };
}

/** One row of reproducible.json. */
export function jsonRow(suite: string, arch: string, r: ListRow): string {
  const row = { package: r.package, version: r.version, suite, architecture: arch, status: r.status, build_date: r.build_date };
  // a depwait says which build dependencies could not be satisfied (DESIGN.md, wave 2)
  return JSON.stringify(r.status === 'depwait' && r.unmet ? { ...row, unmet: r.unmet } : row);
}

/** One suite and architecture's part of reproducible.json: one row per line, joined by commas, no brackets. */
export function jsonFragment(suite: string, arch: string, rows: readonly ListRow[]): string {
  return rows.map((r) => jsonRow(suite, arch, r)).join(',\n');
}
