/**
 * `issues/ISSUE.html` (notes-pages.ts): the packages whose notes name the
 * issue, with their current status on each configured suite and
 * architecture. A row is one line, sorted by package, then suite and
 * architecture in the configuration's order, so when the notes did not
 * change an incremental render splices the changed packages' lines into the
 * pages of the issues their notes name (status-pages.ts Splice): a common
 * issue has thousands of packages, and reading all their results again was
 * most of an incremental render. The counts of issues/index.html follow
 * from the lines taken out and put in.
 */
import type { NoteIssue } from '../notes/parse.js';
import { notesOf, type NoteData } from '../db/notes.js';
import { notedResults, packagesNaming, type NotedRow } from '../db/site-notes.js';
import type { RenderContext } from './context.js';
import { escapeHtml, rootFrom, statusClass } from './format.js';
import { packageHref, pageBase } from './model.js';
import type { RenderPlan } from './plan.js';
import { bytes, NotSpliceable, unescapeHtml } from './splice-lines.js';
import { ROWS, Splice } from './status-pages.js';

/** What an issue's page was written with, and what the index counts of it. */
export interface IssueState {
  packages: number;
  unreproducible: number;
  rows: number;
  size: number;
}

interface Row {
  key: string;
  package: string;
  status: string;
  line: string;
}

const issuePath = (name: string): string => `issues/${name}.html`;

const keyOf = (pkg: string, suiteIndex: number, archIndex: number): string => `${bytes(pkg)}\0${String.fromCharCode(suiteIndex, archIndex)}`;

const LINE_RE = /^<tr><td><a href="[^"]*">([^<]*)<\/a><\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>[^<]*<\/td><td class="[^"]*">([^<]*)<\/td><\/tr>\n?$/;

function parseLine(line: Buffer): { pkg: string; suite: string; arch: string; status: string } {
  const m = LINE_RE.exec(line.toString('latin1'));
  if (!m) throw new NotSpliceable('an issue row not as this code writes it');
  const [pkg, suite, arch, status] = m.slice(1).map((x) => unescapeHtml(x ?? ''));
  return { pkg: pkg ?? '', suite: suite ?? '', arch: arch ?? '', status: status ?? '' };
}

/** The rows of these packages on every configured suite/arch (`only`: of these packages; else every noted one). */
function issueRows(ctx: RenderContext, only?: readonly string[]): Row[] {
  const { suites, architectures: arches } = ctx.config;
  const out: Row[] = [];
  suites.forEach((suite, si) =>
    arches.forEach((arch, ai) => {
      for (const r of notedResults(ctx.reader.db, suite, arch, only)) out.push(row(suite, arch, si, ai, r));
    }),
  );
  return out;
}

function row(suite: string, arch: string, si: number, ai: number, r: NotedRow): Row {
  const status = r.status ?? 'untested';
  const line =
    `<tr><td><a href="${escapeHtml(packageHref(rootFrom(1), suite, arch, r.package))}">${escapeHtml(r.package)}</a></td><td>${escapeHtml(suite)}</td>` +
    `<td>${escapeHtml(arch)}</td><td>${escapeHtml(r.version)}</td><td class="${escapeHtml(statusClass(status))}">${escapeHtml(status)}</td></tr>\n`;
  return { key: keyOf(r.package, si, ai), package: r.package, status, line };
}

function issueView(issue: NoteIssue, count: number, rowsHtml: string): ReturnType<typeof pageBase> & Record<string, unknown> {
  return { ...pageBase(`Issue ${issue.name}`, 1, undefined, 'issues'), issue, count, rowsHtml, indexHref: 'index.html' };
}

/** One issue's page from all its rows. */
function writeIssue(ctx: RenderContext, issue: NoteIssue, rows: Row[]): IssueState {
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const html = ctx.renderer.render('issue', issueView(issue, rows.length, rows.map((r) => r.line).join('')));
  ctx.writer.writeIfChanged(issuePath(issue.name), html);
  return {
    packages: new Set(rows.map((r) => r.package)).size,
    unreproducible: rows.filter((r) => r.status === 'FTBR').length,
    rows: rows.length,
    size: Buffer.byteLength(html),
  };
}

/** Every issue's page, from every noted package's results. */
export function renderIssuePages(ctx: RenderContext, issues: readonly NoteIssue[], notes: ReadonlyMap<string, NoteData>): Record<string, IssueState> {
  const byIssue = new Map<string, Row[]>(issues.map((i) => [i.name, []]));
  for (const r of issueRows(ctx)) for (const i of notes.get(r.package)?.issues ?? []) byIssue.get(i)?.push(r);
  return Object.fromEntries(issues.map((i) => [i.name, writeIssue(ctx, i, byIssue.get(i.name) ?? [])]));
}

/**
 * The pages of the issues the changed packages' notes name, their lines spliced in (an issue
 * page not as this code wrote it is rendered whole); the other issues' states as they were.
 */
export function spliceIssuePages(
  ctx: RenderContext,
  plan: RenderPlan,
  issues: readonly NoteIssue[],
  last: Record<string, IssueState>,
): Record<string, IssueState> {
  const changed = [...new Set([...plan.todo.values()].flatMap((u) => u.names))];
  const notes = notesOf(ctx.reader.db, JSON.stringify(changed));
  const fresh = notes.size > 0 ? issueRows(ctx, [...notes.keys()]) : [];
  const out: Record<string, IssueState> = {};
  for (const i of issues) {
    const state = last[i.name];
    const pkgs = [...notes].filter(([, n]) => n.issues.includes(i.name)).map(([p]) => p);
    if (state && pkgs.length === 0) {
      out[i.name] = state;
      continue;
    }
    try {
      if (!state) throw new NotSpliceable('no state of the page');
      out[i.name] = spliceIssue(ctx, i, state, pkgs, fresh);
    } catch (err) {
      if (!(err instanceof NotSpliceable)) throw err;
      out[i.name] = writeIssue(ctx, i, issueRows(ctx, packagesNaming(ctx.reader.db, [i.name])));
    }
  }
  return out;
}

function spliceIssue(ctx: RenderContext, issue: NoteIssue, state: IssueState, pkgs: readonly string[], fresh: readonly Row[]): IssueState {
  const { suites, architectures: arches } = ctx.config;
  const mine = new Set(pkgs);
  const keys = pkgs.flatMap((p) => suites.flatMap((_, si) => arches.map((_a, ai) => keyOf(p, si, ai))));
  const lines = new Map(fresh.filter((r) => mine.has(r.package)).map((r) => [r.key, Buffer.from(r.line)]));
  const lineKey = (l: Buffer): string => {
    const r = parseLine(l);
    const si = suites.indexOf(r.suite);
    const ai = arches.indexOf(r.arch);
    if (si < 0 || ai < 0) throw new NotSpliceable('an issue row of a suite or architecture not configured');
    return keyOf(r.pkg, si, ai);
  };
  return new Splice(ctx, keys, lineKey).run((splice) => {
    const s = splice.rows({ rel: issuePath(issue.name), size: state.size, before: state.rows, lines });
    if (!s.changed) return state;
    const unchanged = new Set(s.unchanged);
    const put = [...lines].filter(([k]) => !unchanged.has(k)).map(([, l]) => l);
    const ftbr = (ls: readonly Buffer[]): number => ls.filter((l) => parseLine(l).status === 'FTBR').length;
    // a package is on the page while it has a row: before, a line replaced or kept; after, a line of its own
    const had = new Set([...s.replaced.map((l) => bytes(parseLine(l).pkg)), ...s.unchanged.map((k) => k.slice(0, k.indexOf('\0')))]);
    const has = new Set([...lines.keys()].map((k) => k.slice(0, k.indexOf('\0'))));
    const moved = pkgs.map(bytes).reduce((n, p) => n + (has.has(p) ? 1 : 0) - (had.has(p) ? 1 : 0), 0);
    const size = splice.write(s, issueView(issue, s.count, ROWS), 'issue');
    return { packages: state.packages + moved, unreproducible: state.unreproducible + ftbr(put) - ftbr(s.replaced), rows: s.count, size };
  });
}
