/**
 * The view models of a suite/arch's own pages: a status page per status
 * (`<SUITE>/<ARCH>/index_<STATUS>.html`), the schedule page
 * (`index_scheduled.html`), and its rows of reproducible.json.
 */
import { STATUSES } from '../core/statuses.js';
import type { ListRow, ScheduleRow } from '../db/site.js';
import { countGroups, culpritCellHtml, culpritJson, culpritPageName, groupHelp, groupLabel, orderGroups } from './culprit-groups.js';
import { escapeHtml, fmtDate, rootFrom, statusClass } from './format.js';
import { listLinks } from './model-lists.js';
import { culpritsHref, packageHref, pageBase, scheduledHref, statusHref, STATUS_HELP, type NavLink, type PageBase } from './model.js';

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
  /** FTBR rows have a culprit column */
  culpritColumn: boolean;
  /** on the FTBR page: its packages' groups (culprit-groups.ts), each linking to the page of that group only */
  byCulprit: { label: string; href: string; count: number }[];
  /** on a group's page: which group, and the way back */
  filter: { label: string; allHref: string } | null;
  culpritsHref: string;
  /** the suite/arch's list pages (model-lists.ts) */
  lists: NavLink[];
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
    `<td>${escapeHtml(r.version)}</td><td data-sort="${escapeHtml(r.build_date ?? '')}">${escapeHtml(fmtDate(r.build_date))}</td>` +
    `${r.status === 'FTBR' ? culpritCellHtml(r) : ''}</tr>\n`
  );
}

/**
 * One status page of a suite/arch from its rows' lines; `statuses` are all the statuses it links to;
 * `groups`, on the FTBR page, its packages per culprit group.
 */
export function statusPageOf(
  suite: string,
  arch: string,
  status: string,
  count: number,
  rowsHtml: string,
  statuses: readonly string[],
  groups: Readonly<Record<string, number>> = {},
): StatusPageView {
  const v = statusFrame(suite, arch, status, `${suite}/${arch}: ${status} (${count})`, count, rowsHtml, statuses);
  v.help = STATUS_HELP[status] ?? '';
  if (status === 'FTBR') {
    const present = orderGroups(Object.keys(groups).filter((g) => (groups[g] ?? 0) > 0));
    v.byCulprit = present.map((g) => ({ label: groupLabel(g), href: culpritPageName(g), count: groups[g] ?? 0 }));
  }
  return v;
}

/** The page of one culprit group of a suite/arch's FTBR packages (culprit-groups.ts). */
export function culpritPageOf(suite: string, arch: string, group: string, count: number, rowsHtml: string, statuses: readonly string[]): StatusPageView {
  const label = groupLabel(group);
  const v = statusFrame(suite, arch, 'FTBR', `${suite}/${arch}: FTBR, ${label} (${count})`, count, rowsHtml, statuses);
  v.help = `${STATUS_HELP.FTBR ?? ''}; ${groupHelp(group)}`;
  v.filter = { label, allHref: statusHref(rootFrom(2), suite, arch, 'FTBR') };
  return v;
}

/** What a status page and a culprit group's page share; help, byCulprit and filter left empty. */
function statusFrame(suite: string, arch: string, status: string, title: string, count: number, rowsHtml: string, statuses: readonly string[]): StatusPageView {
  const root = rootFrom(2);
  const base = pageBase(title, 2, undefined, '');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    suite,
    arch,
    status,
    cls: statusClass(status),
    help: '',
    count,
    rowsHtml,
    others: statuses.map((s) => ({ status: s, href: statusHref(root, suite, arch, s), current: s === status })),
    scheduledHref: scheduledHref(root, suite, arch),
    culpritColumn: status === 'FTBR',
    byCulprit: [],
    filter: null,
    culpritsHref: culpritsHref(root, suite, arch),
    lists: listLinks(root, suite, arch),
  };
}

export function statusPage(suite: string, arch: string, status: string, rows: readonly ListRow[], statuses: readonly string[]): StatusPageView {
  const groups = status === 'FTBR' ? countGroups(rows) : {};
  return statusPageOf(suite, arch, status, rows.length, rowsHtmlOf(suite, arch, rows), statuses, groups);
}

export function rowsHtmlOf(suite: string, arch: string, rows: readonly ListRow[]): string {
  return rows.map((r) => statusRowHtml(suite, arch, r)).join('');
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
  // a depwait says which build dependencies could not be satisfied, an FTBR what made it so (DESIGN.md, wave 2)
  if (r.status === 'depwait' && r.unmet) return JSON.stringify({ ...row, unmet: r.unmet });
  const culprit = culpritJson(r);
  return JSON.stringify(culprit ? { ...row, ...culprit } : row);
}

/** One suite and architecture's part of reproducible.json: one row per line, joined by commas, no brackets. */
export function jsonFragment(suite: string, arch: string, rows: readonly ListRow[]): string {
  return rows.map((r) => jsonRow(suite, arch, r)).join(',\n');
}
