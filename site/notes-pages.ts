/**
 * The pages made from the imported notes, in the finish phase of each render:
 * each suite/arch's `index_notes.html` and `index_no_notes.html` (its FTBR and
 * FTBFS packages with and without a note), `issues/index.html` and one
 * `issues/ISSUE.html` per issue with the packages its notes name and their
 * current status everywhere (notes-lists.ts, issue-pages.ts). A full render
 * reads them whole; an incremental one splices the changed packages' lines
 * in. A page is written only when its bytes changed; an issue gone loses it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReprofarmError } from '../core/errors.js';
import { importNotesDirIfChanged } from '../notes/import.js';
import type { NoteIssue } from '../notes/parse.js';
import { allIssues, allNotes, notesState } from '../db/notes.js';
import { scopeOf, suiteArchKey, suiteArchs, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import type { RenderPlan } from './plan.js';
import { rootFrom } from './format.js';
import { renderIssuePages, spliceIssuePages, type IssueState } from './issue-pages.js';
import { issueHref, pageBase } from './model.js';
import { renderNotesLists, spliceNotesLists, type NotesListsState } from './notes-lists.js';
import { NotSpliceable } from './splice-lines.js';

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

/** What the last render of these pages saw: an incremental render redoes only what changed since. */
interface NotesPagesCache {
  version: 3;
  /** the configuration's suites and architectures */
  scope: string;
  /** notesHash of the notes they show */
  hash: string;
  /** by issue: what its page was written with and what the index counts */
  issues: Record<string, IssueState>;
  /** by suite/arch (suiteArchKey): what its two lists were written with */
  lists: Record<string, NotesListsState>;
}

/**
 * Renders them, and removes the pages of issues no longer defined. A full render, or new
 * notes, renders every page; else the changed packages' lines are spliced into the lists of
 * their suite/archs and the pages of the issues their notes name (the index's counts of the
 * others kept), reading only the notes and results of the packages concerned.
 */
export function renderNotesPages(ctx: RenderContext, plan: RenderPlan): void {
  const db = ctx.reader.db;
  const scope = scopeOf(ctx.config);
  const hash = notesState(db)?.hash ?? '';
  const cache = new JsonCache<NotesPagesCache>(
    join(ctx.paths.indexDir, 'notes.json'),
    (c) => c.version === 3 && typeof c.issues === 'object' && typeof c.lists === 'object',
  );
  const kept = plan.full ? undefined : cache.read();
  const since = kept?.scope === scope && kept.hash === hash ? kept : undefined;
  if (since && plan.todo.size === 0) return;
  const notes = since ? undefined : allNotes(db);
  const issues = allIssues(db);
  const lists = since?.lists ?? {};
  for (const { suite, arch } of suiteArchs(ctx.config)) {
    const k = suiteArchKey(suite, arch);
    const todo = plan.todo.get(k);
    if (notes) lists[k] = renderNotesLists(ctx, suite, arch, notes);
    else if (todo) lists[k] = spliceOrRender(ctx, suite, arch, lists[k], todo.names);
  }
  const states = notes ? renderIssuePages(ctx, issues, notes) : spliceIssuePages(ctx, plan, issues, since?.issues ?? {});
  renderIssueIndex(ctx, issues, states);
  cache.write({ version: 3, scope, hash, issues: states, lists });
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

/** issues/index.html from each issue's counts. */
function renderIssueIndex(ctx: RenderContext, issues: readonly NoteIssue[], states: Record<string, IssueState>): void {
  const index = pageBase(`Issues (${issues.length})`, 1, undefined, 'issues');
  const entries = issues.map((i) => ({
    name: i.name,
    href: issueHref(rootFrom(1), i.name),
    description: i.description,
    packages: states[i.name]?.packages ?? 0,
    unreproducible: states[i.name]?.unreproducible ?? 0,
  }));
  const view = { ...index, issues: entries };
  ctx.writer.writeIfChanged('issues/index.html', ctx.renderer.render('issues', view));
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
