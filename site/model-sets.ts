/**
 * View models of the package set pages: sets/index.html (each set on each
 * configured suite/arch, with counts) and sets/SUITE/ARCH/SET.html (its
 * counts by status, a stacked bar of them, its unreproducible members and
 * the names the suite does not have). Pure: rows in, views out.
 */
import { STATUSES } from '../core/statuses.js';
import type { SetMemberRow } from '../db/site-sets.js';
import { STATUS_COLOURS } from './charts.js';
import { statusClass, urlSegment } from './format.js';
import { packageHref, pageBase, type PageBase } from './model.js';

/** What is shown as a set's problems: a result that is neither reproducible nor not tested on purpose. */
const UNREPRODUCIBLE = new Set(['FTBR', 'FTBFS', 'depwait', 'timeout', 'E404', 'source-mismatch']);

export interface SetSummary {
  set: string;
  suite: string;
  arch: string;
  rows: SetMemberRow[];
  /** names of the set that are no current source of the suite */
  missing: string[];
}

export interface SetsView extends PageBase {
  sets: { set: string; suite: string; arch: string; href: string; members: number; reproduciblePct: string; ftbr: number; ftbfs: number }[];
}

export interface SetView extends PageBase {
  set: string;
  suite: string;
  arch: string;
  members: number;
  counts: { status: string; cls: string; n: number; pct: string }[];
  /** the chart's segments: one per status present, their widths in percent */
  bar: { status: string; colour: string; n: number; x: string; width: string }[];
  unreproducible: { name: string; href: string; version: string; status: string; cls: string }[];
  missing: string[];
}

function countOf(rows: readonly SetMemberRow[], status: string): number {
  let n = 0;
  for (const r of rows) if (r.status === status) n++;
  return n;
}

function pct(n: number, of: number): string {
  return of === 0 ? '0.0' : ((100 * n) / of).toFixed(1);
}

/** The set's page's file, relative to sets/ (set names are SET_RE, suites and arches validated by the config). */
export function setFile(s: { suite: string; arch: string; set: string }): string {
  return `${s.suite}/${s.arch}/${s.set}.html`;
}

/** A set on a suite/arch as the index shows it. */
export type SetEntry = SetsView['sets'][number];

export function setEntry(s: SetSummary): SetEntry {
  return {
    set: s.set,
    suite: s.suite,
    arch: s.arch,
    href: `./${urlSegment(s.suite)}/${urlSegment(s.arch)}/${urlSegment(s.set)}.html`,
    members: s.rows.length,
    reproduciblePct: pct(countOf(s.rows, 'reproducible'), s.rows.length),
    ftbr: countOf(s.rows, 'FTBR'),
    ftbfs: countOf(s.rows, 'FTBFS'),
  };
}

export function setsView(entries: readonly SetEntry[], asOf: string | null): SetsView {
  const base = pageBase('Package sets', 1, asOf, 'sets');
  return { title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, sets: [...entries] };
}

/** One set on one suite/arch: no "as of" date, so that it changes only when its members do. */
export function setView(s: SetSummary): SetView {
  const depth = 3;
  const base = pageBase(`Package set ${s.set} in ${s.suite}/${s.arch}`, depth, undefined, 'sets');
  const total = s.rows.length;
  const counts = STATUSES.map((status) => {
    const n = countOf(s.rows, status);
    return { status, cls: statusClass(status), n, pct: pct(n, total) };
  });
  const bar: SetView['bar'] = [];
  let x = 0;
  for (const c of counts) {
    if (c.n === 0) continue;
    const width = (100 * c.n) / total;
    bar.push({ status: c.status, colour: STATUS_COLOURS[c.status] ?? '#888888', n: c.n, x: x.toFixed(2), width: width.toFixed(2) });
    x += width;
  }
  const unreproducible = s.rows
    .filter((r) => UNREPRODUCIBLE.has(r.status))
    .map((r) => ({ name: r.name, href: packageHref(base.root, s.suite, s.arch, r.name), version: r.version, status: r.status, cls: statusClass(r.status) }));
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    set: s.set,
    suite: s.suite,
    arch: s.arch,
    members: total,
    counts,
    bar,
    unreproducible,
    missing: s.missing,
  };
}
