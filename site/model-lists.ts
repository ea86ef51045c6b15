/**
 * The view models of a suite/arch's list pages: the packages tested in the
 * last 24 and 48 hours (`index_last_24h.html`, `index_last_48h.html`, newest
 * first) and every package by name with its status (`index_all_abc.html`).
 * "The last 24 hours" end at the DB's newest timestamp (the render's asOf),
 * never at the clock: the same DB gives the same pages.
 */
import type { ListRow } from '../db/site.js';
import { escapeHtml, fmtDate, rootFrom, statusClass, urlSegment } from './format.js';
import { packageHref, pageBase, scheduledHref, statusHref, type NavLink, type PageBase } from './model.js';

/** The list pages of a suite/arch, in the order its nav shows them. */
export const LIST_PAGES = [
  { id: 'last_24h', label: 'last 24 h', hours: 24 },
  { id: 'last_48h', label: 'last 48 h', hours: 48 },
  { id: 'all_abc', label: 'all, by name', hours: null },
] as const;

export type ListPageId = (typeof LIST_PAGES)[number]['id'];

/** A suite/arch's FTBR and FTBFS packages with and without notes (site/notes-pages.ts), after the list pages in its nav. */
export const NOTES_PAGES = [
  { id: 'notes', label: 'with notes' },
  { id: 'no_notes', label: 'without notes' },
] as const;

export type NotesPageId = (typeof NOTES_PAGES)[number]['id'];

export function listPageName(id: ListPageId | NotesPageId): string {
  return `index_${id}.html`;
}

export function listHref(root: string, suite: string, arch: string, id: ListPageId | NotesPageId): string {
  return `${root}${urlSegment(suite)}/${urlSegment(arch)}/${listPageName(id)}`;
}

/** The list pages' links of a suite/arch's nav (`current`: the page showing them, else none). */
export function listLinks(root: string, suite: string, arch: string, current: ListPageId | NotesPageId | '' = ''): NavLink[] {
  return [...LIST_PAGES, ...NOTES_PAGES].map((p) => ({ href: listHref(root, suite, arch, p.id), label: p.label, current: p.id === current }));
}

/** Where the last `hours` hours before `asOf` begin: a package tested after this is on the page. */
export function windowStart(asOf: string, hours: number): string {
  return new Date(Date.parse(asOf) - hours * 3_600_000).toISOString();
}

/**
 * One row of a list page: a single line with the package's link first, as on the status pages, so that
 * index_all_abc.html is spliced like them (status-pages.ts) and gets the bytes a full render writes.
 */
export function listRowHtml(suite: string, arch: string, r: ListRow): string {
  return (
    `<tr><td><a href="${escapeHtml(packageHref(rootFrom(2), suite, arch, r.package))}">${escapeHtml(r.package)}</a></td>` +
    `<td>${escapeHtml(r.version)}</td><td class="${statusClass(r.status)}">${escapeHtml(r.status)}</td>` +
    `<td data-sort="${escapeHtml(r.build_date ?? '')}">${escapeHtml(fmtDate(r.build_date))}</td></tr>\n`
  );
}

export interface ListPageView extends PageBase {
  suite: string;
  arch: string;
  heading: string;
  lead: string;
  count: number;
  /** escaped lines (listRowHtml) */
  rowsHtml: string;
  statuses: NavLink[];
  lists: NavLink[];
  scheduledHref: string;
}

/**
 * One list page around its rows. It shows no "as of" and no window bounds: only its rows, so that it
 * changes when they do (the newest row's date says how recent the page is).
 */
export function listPageOf(
  suite: string,
  arch: string,
  id: ListPageId,
  count: number,
  rowsHtml: string,
  statuses: readonly string[],
  newest?: string | null,
): ListPageView {
  const root = rootFrom(2);
  const page = LIST_PAGES.find((p) => p.id === id) ?? LIST_PAGES[2];
  const heading = page.hours === null ? 'every package, by name' : `tested in the last ${page.hours} hours`;
  const lead =
    page.hours === null
      ? `${count} packages, with their status.`
      : `${count} packages tested in the ${page.hours} hours before the farm's newest record, newest first` +
        (newest ? ` (the newest: ${fmtDate(newest)}).` : '.');
  const base = pageBase(`${suite}/${arch}: ${heading} (${count})`, 2, undefined, '');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    suite,
    arch,
    heading,
    lead,
    count,
    rowsHtml,
    statuses: statuses.map((s) => ({ href: statusHref(root, suite, arch, s), label: s, current: false })),
    lists: listLinks(root, suite, arch, id),
    scheduledHref: scheduledHref(root, suite, arch),
  };
}
