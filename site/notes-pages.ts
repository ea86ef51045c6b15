/**
 * The pages made from the imported notes, in the finish phase of each render:
 * each suite/arch's `index_notes.html` and `index_no_notes.html` (its FTBR and
 * FTBFS packages with and without a note), `issues/index.html` and one
 * `issues/ISSUE.html` per issue with the packages its notes name and their
 * current status everywhere. They are read whole (a few thousand rows) and
 * written only when their bytes changed; an issue gone loses its page.
 */
import { readdirSync } from 'node:fs';
import { ReprofarmError } from '../core/errors.js';
import { importNotesDirIfChanged } from '../notes/import.js';
import type { NoteIssue } from '../notes/parse.js';
import { allIssues, allNotes, type NoteData } from '../db/notes.js';
import { failedResults, notedResults } from '../db/site-notes.js';
import { suiteArchs, type RenderContext } from './context.js';
import { fmtDate, rootFrom, statusClass } from './format.js';
import { issueHref, packageHref, pageBase, scheduledHref, statusHref } from './model.js';
import { listLinks, listPageName, type NotesPageId } from './model-lists.js';

interface NotesListRow {
  href: string;
  package: string;
  version: string;
  status: string;
  cls: string;
  tested: string;
  issues: { name: string; href: string }[];
  bugs: number;
  comments: string;
}

interface IssueRow {
  suite: string;
  arch: string;
  href: string;
  package: string;
  version: string;
  status: string;
  cls: string;
}

/**
 * notes_dir, when set, into the DB before the render plans (notes/import.ts). A checkout with
 * problems is refused whole and reported as skipped (site exits 2): the pages keep the notes
 * imported before.
 */
export function importConfiguredNotes(ctx: RenderContext): void {
  const dir = ctx.config.notesDir;
  if (dir === undefined) return;
  try {
    importNotesDirIfChanged(ctx.reader.db, dir);
  } catch (e) {
    if (!(e instanceof ReprofarmError)) throw e;
    ctx.emit({ type: 'skipped', what: `notes_dir ${dir}`, why: `${e.message}\n${e.advice ?? ''}` });
  }
}

/** Renders them all, and removes the pages of issues no longer defined. */
export function renderNotesPages(ctx: RenderContext): void {
  const db = ctx.reader.db;
  const notes = allNotes(db);
  const issues = allIssues(db);
  const byIssue = new Map<string, IssueRow[]>(issues.map((i) => [i.name, []]));
  for (const { suite, arch } of suiteArchs(ctx.config)) {
    renderSuiteArchLists(ctx, suite, arch, notes);
    for (const r of notedResults(db, suite, arch)) {
      const status = r.status ?? 'untested';
      const row = {
        suite,
        arch,
        href: packageHref(rootFrom(1), suite, arch, r.package),
        package: r.package,
        version: r.version,
        status,
        cls: statusClass(status),
      };
      for (const i of notes.get(r.package)?.issues ?? []) byIssue.get(i)?.push(row);
    }
  }
  renderIssues(ctx, issues, byIssue);
  removeGoneIssues(ctx, issues);
}

function renderSuiteArchLists(ctx: RenderContext, suite: string, arch: string, notes: ReadonlyMap<string, NoteData>): void {
  const root = rootFrom(2);
  const rows = failedResults(ctx.reader.db, suite, arch);
  for (const id of ['notes', 'no_notes'] as const satisfies readonly NotesPageId[]) {
    const shown = rows.filter((r) => notes.has(r.package) === (id === 'notes'));
    const list: NotesListRow[] = shown.map((r) => {
      const n = notes.get(r.package);
      return {
        href: packageHref(root, suite, arch, r.package),
        package: r.package,
        version: r.version,
        status: r.status,
        cls: statusClass(r.status),
        tested: fmtDate(r.build_date),
        issues: (n?.issues ?? []).map((i) => ({ name: i, href: issueHref(root, i) })),
        bugs: n?.bugs.length ?? 0,
        comments: n?.comments ?? '',
      };
    });
    const heading = id === 'notes' ? 'FTBR and FTBFS packages with notes' : 'FTBR and FTBFS packages without notes';
    const base = pageBase(`${suite}/${arch}: ${heading} (${list.length})`, 2, undefined, '');
    const view = {
      title: base.title,
      root: base.root,
      nav: base.nav,
      asOf: base.asOf,
      suite,
      arch,
      heading,
      withNotes: id === 'notes',
      rows: list,
      statuses: ['FTBR', 'FTBFS'].map((s) => ({ href: statusHref(root, suite, arch, s), label: s })),
      lists: listLinks(root, suite, arch, id),
      scheduledHref: scheduledHref(root, suite, arch),
    };
    ctx.writer.writeIfChanged(`${suite}/${arch}/${listPageName(id)}`, ctx.renderer.render('notes-list', view));
  }
}

function renderIssues(ctx: RenderContext, issues: readonly NoteIssue[], byIssue: ReadonlyMap<string, IssueRow[]>): void {
  const index = pageBase(`Issues (${issues.length})`, 1, undefined, 'issues');
  const entries = issues.map((i) => {
    const rows = byIssue.get(i.name) ?? [];
    return {
      name: i.name,
      href: issueHref(rootFrom(1), i.name),
      description: i.description,
      packages: new Set(rows.map((r) => r.package)).size,
      unreproducible: rows.filter((r) => r.status === 'FTBR').length,
    };
  });
  const indexView = { ...index, issues: entries };
  ctx.writer.writeIfChanged('issues/index.html', ctx.renderer.render('issues', indexView));
  for (const i of issues) {
    const base = pageBase(`Issue ${i.name}`, 1, undefined, 'issues');
    const rows = byIssue.get(i.name) ?? [];
    const view = { ...base, issue: i, rows, indexHref: 'index.html' };
    ctx.writer.writeIfChanged(`issues/${i.name}.html`, ctx.renderer.render('issue', view));
  }
}

/** issues/*.html of issues no longer defined (every name was checked by notes/parse.ts, and index.html is kept). */
function removeGoneIssues(ctx: RenderContext, issues: readonly NoteIssue[]): void {
  const keep = new Set(['index.html', ...issues.map((i) => `${i.name}.html`)]);
  let names: string[];
  try {
    names = readdirSync(ctx.writer.path('issues'));
  } catch {
    return;
  }
  for (const f of names) if (f.endsWith('.html') && !keep.has(f)) ctx.writer.remove(`issues/${f}`);
}
