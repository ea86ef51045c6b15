/**
 * The pages made from the imported notes, in the finish phase of each render:
 * each suite/arch's `index_notes.html` and `index_no_notes.html` (its FTBR and
 * FTBFS packages with and without a note), `issues/index.html` and one
 * `issues/ISSUE.html` per issue with the packages its notes name and their
 * current status everywhere. They are read whole (a few thousand rows) and
 * written only when their bytes changed; an issue gone loses its page.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReprofarmError } from '../core/errors.js';
import { importNotesDirIfChanged } from '../notes/import.js';
import type { NoteIssue } from '../notes/parse.js';
import { allIssues, allNotes, notesOf, notesState, type NoteData } from '../db/notes.js';
import { notedResults, packagesNaming } from '../db/site-notes.js';
import { scopeOf, suiteArchKey, suiteArchs, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import type { RenderPlan } from './plan.js';
import { rootFrom, statusClass } from './format.js';
import { issueHref, packageHref, pageBase } from './model.js';
import { renderNotesLists, spliceNotesLists, type NotesListsState } from './notes-lists.js';
import { NotSpliceable } from './splice-lines.js';

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

interface IssueCount {
  packages: number;
  unreproducible: number;
}

/** What the last render of these pages saw: an incremental render redoes only what changed since. */
interface NotesPagesCache {
  version: 2;
  /** the configuration's suites and architectures */
  scope: string;
  /** notesHash of the notes they show */
  hash: string;
  issues: Record<string, IssueCount>;
  /** by suite/arch (suiteArchKey): what its two lists were written with */
  lists: Record<string, NotesListsState>;
}

/**
 * Renders them, and removes the pages of issues no longer defined. A full render, or new
 * notes, renders every page; else only the lists of the suite/archs with changes (their
 * changed packages' lines spliced in) and the pages of the issues that name a changed package
 * (the index's counts of the others kept), reading only the notes of the packages concerned.
 */
export function renderNotesPages(ctx: RenderContext, plan: RenderPlan): void {
  const db = ctx.reader.db;
  const scope = scopeOf(ctx.config);
  const hash = notesState(db)?.hash ?? '';
  const cache = new JsonCache<NotesPagesCache>(
    join(ctx.paths.indexDir, 'notes.json'),
    (c) => c.version === 2 && typeof c.issues === 'object' && typeof c.lists === 'object',
  );
  const kept = plan.full ? undefined : cache.read();
  const since = kept?.scope === scope && kept.hash === hash ? kept : undefined;
  if (since && plan.todo.size === 0) return;
  const notes = since ? undefined : allNotes(db);
  const issues = allIssues(db);
  const changed = [...new Set([...plan.todo.values()].flatMap((u) => u.names))];
  const affected = since ? issuesOf(notesOf(db, JSON.stringify(changed))) : new Set(issues.map((i) => i.name));
  const only = since ? packagesNaming(db, [...affected]) : undefined;
  const noted = notes ?? notesOf(db, JSON.stringify(only ?? []));
  const lists = since?.lists ?? {};
  const byIssue = new Map<string, IssueRow[]>([...affected].map((i) => [i, []]));
  for (const { suite, arch } of suiteArchs(ctx.config)) {
    const k = suiteArchKey(suite, arch);
    const todo = plan.todo.get(k);
    if (!since) lists[k] = renderNotesLists(ctx, suite, arch, notes);
    else if (todo) lists[k] = spliceOrRender(ctx, suite, arch, lists[k], todo.names);
    if (only?.length === 0) continue;
    for (const r of notedResults(db, suite, arch, only)) {
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
      for (const i of noted.get(r.package)?.issues ?? []) byIssue.get(i)?.push(row);
    }
  }
  const counts: Record<string, IssueCount> = {};
  for (const i of issues) {
    const rows = byIssue.get(i.name);
    counts[i.name] = rows
      ? { packages: new Set(rows.map((r) => r.package)).size, unreproducible: rows.filter((r) => r.status === 'FTBR').length }
      : (since?.issues[i.name] ?? { packages: 0, unreproducible: 0 });
  }
  renderIssues(ctx, issues, byIssue, counts);
  cache.write({ version: 2, scope, hash, issues: counts, lists });
  if (!since) removeGoneIssues(ctx, issues);
}

function spliceOrRender(ctx: RenderContext, suite: string, arch: string, state: NotesListsState | undefined, names: readonly string[]): NotesListsState {
  try {
    return spliceNotesLists(ctx, suite, arch, state, names);
  } catch (err) {
    if (!(err instanceof NotSpliceable)) throw err;
    return renderNotesLists(ctx, suite, arch);
  }
}

/** The issues these notes name. */
function issuesOf(notes: ReadonlyMap<string, NoteData>): Set<string> {
  return new Set([...notes.values()].flatMap((n) => n.issues));
}

/** issues/index.html from `counts`; the page of each issue in byIssue. */
function renderIssues(ctx: RenderContext, issues: readonly NoteIssue[], byIssue: ReadonlyMap<string, IssueRow[]>, counts: Record<string, IssueCount>): void {
  const index = pageBase(`Issues (${issues.length})`, 1, undefined, 'issues');
  const entries = issues.map((i) => ({
    name: i.name,
    href: issueHref(rootFrom(1), i.name),
    description: i.description,
    packages: counts[i.name]?.packages ?? 0,
    unreproducible: counts[i.name]?.unreproducible ?? 0,
  }));
  const indexView = { ...index, issues: entries };
  ctx.writer.writeIfChanged('issues/index.html', ctx.renderer.render('issues', indexView));
  for (const i of issues) {
    const rows = byIssue.get(i.name);
    if (!rows) continue;
    const base = pageBase(`Issue ${i.name}`, 1, undefined, 'issues');
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
