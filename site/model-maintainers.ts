/**
 * View models of the maintainer pages: maintainers/index.html (everyone, with
 * counts) and maintainers/FILE.html (one person's packages on each
 * configured suite/arch). Pure: rows in, views out.
 */
import type { MaintainerSourceRow } from '../db/site-maintainers.js';
import { escapeHtml, statusClass, urlSegment } from './format.js';
import { packageHref, pageBase, type PageBase } from './model.js';

export interface MaintainerSummary {
  email: string;
  name: string;
  /** the page's file name under maintainers/ (maintainerFile) */
  file: string;
  rows: MaintainerPageRow[];
}

export interface MaintainerPageRow {
  suite: string;
  arch: string;
  package: string;
  href: string;
  version: string;
  status: string;
  cls: string;
  role: string;
}

export interface MaintainersView extends PageBase {
  count: number;
  rowsHtml: string;
}

export interface MaintainerView extends PageBase {
  name: string;
  email: string;
  count: number;
  /** the rows' lines (maintainerRowHtml), or a mark where a splice puts them */
  rowsHtml: string;
}

/** What the index counts of a person: their sources (of every suite) and their FTBR and FTBFS results. */
export interface PersonCounts {
  packages: number;
  ftbr: number;
  ftbfs: number;
}

/**
 * The query's rows (ordered by person) as one summary per person, handed to `each` as soon as
 * that person's rows are read, so that only one person's rows are held at a time. An
 * architecture without a result is shown untested.
 */
export function eachMaintainer(
  rows: Iterable<MaintainerSourceRow>,
  arches: readonly string[],
  fileOf: (email: string) => string | null,
  each: (p: MaintainerSummary) => void,
): void {
  const root = '../';
  let p = null as MaintainerSummary | null;
  for (const r of rows) {
    if (p?.email !== r.email) {
      if (p) each(p);
      const file = fileOf(r.email);
      // sync validates addresses; one that is not valid gets no page
      p = file === null ? null : { email: r.email, name: r.name, file, rows: [] };
      if (!p) continue;
    }
    for (const [i, arch] of arches.entries()) {
      const st = r.statuses[i] ?? 'untested';
      p.rows.push({
        suite: r.suite,
        arch,
        package: r.package,
        href: packageHref(root, r.suite, arch, r.package),
        version: r.version,
        status: st,
        cls: statusClass(st),
        role: r.role,
      });
    }
  }
  if (p) each(p);
}

/** A person's counts from their page's rows (every source has a row per configured architecture). */
export function personCounts(p: MaintainerSummary): PersonCounts {
  return {
    packages: new Set(p.rows.map((r) => `${r.suite}\0${r.package}`)).size,
    ftbr: p.rows.filter((r) => r.status === 'FTBR').length,
    ftbfs: p.rows.filter((r) => r.status === 'FTBFS').length,
  };
}

/**
 * One row of a person's page: one line, in the query's order (suite, package, then the
 * configured architectures), so that an incremental render can splice a changed package's lines.
 */
export function maintainerRowHtml(r: MaintainerPageRow): string {
  return (
    `<tr><td>${escapeHtml(r.suite)}</td><td>${escapeHtml(r.arch)}</td><td><a href="${escapeHtml(r.href)}">${escapeHtml(r.package)}</a></td>` +
    `<td>${escapeHtml(r.version)}</td><td class="${escapeHtml(r.cls)}">${escapeHtml(r.status)}</td><td>${escapeHtml(r.role)}</td></tr>\n`
  );
}

/** What the index shows of a person. */
export type IndexPerson = PersonCounts & { name: string; email: string; file: string };

/** One person's line of the index (sorted by address, as byte strings: maintainer-splice.ts splices it). */
export function indexRowHtml(p: IndexPerson): string {
  return (
    `<tr><td><a href="${escapeHtml(`./${urlSegment(p.file)}`)}">${escapeHtml(p.name || p.email)}</a></td><td>${escapeHtml(p.email)}</td>` +
    `<td>${p.packages}</td><td>${p.ftbr}</td><td>${p.ftbfs}</td></tr>\n`
  );
}

/** The index: `count` people, their lines (or a splice's mark); no "as of": it changes when they do. */
export function indexView(count: number, rowsHtml: string): MaintainersView {
  const base = pageBase('Maintainers', 1, undefined, 'maintainers');
  return { title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, count, rowsHtml };
}

/** One person's page: no "as of" date, so that it changes only when their packages do. */
export function maintainerView(name: string, email: string, count: number, rowsHtml: string): MaintainerView {
  const base = pageBase(`Packages of ${name || email}`, 1, undefined, 'maintainers');
  return { title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, name, email, count, rowsHtml };
}
