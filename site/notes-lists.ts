/**
 * Each suite/arch's `index_notes.html` and `index_no_notes.html` (notes-pages.ts):
 * its FTBR and FTBFS packages with and without a note. A row is one line,
 * sorted by name, so when the notes did not change an incremental render
 * splices the changed packages' lines into the pages the last one wrote
 * (status-pages.ts Splice): a suite/arch has thousands of them, and reading
 * and rendering them whole was most of an incremental render's notes pages.
 * What the last render wrote of them is kept in the notes pages' cache.
 */
import { notesOf, type NoteData } from '../db/notes.js';
import { failedResults, type FailedRow } from '../db/site-notes.js';
import type { RenderContext } from './context.js';
import { escapeHtml, fmtDate, rootFrom, statusClass } from './format.js';
import { issueHref, packageHref, pageBase, scheduledHref, statusHref } from './model.js';
import { listLinks, listPageName, type NotesPageId } from './model-lists.js';
import { bytes, NotSpliceable } from './splice-lines.js';
import { ROWS, Splice } from './status-pages.js';

const IDS = ['notes', 'no_notes'] as const satisfies readonly NotesPageId[];

/** The rows and byte size each page was written with: a page of another size is not spliced. */
export type NotesListsState = Record<(typeof IDS)[number], { count: number; size: number }>;

const pagePath = (suite: string, arch: string, id: NotesPageId): string => `${suite}/${arch}/${listPageName(id)}`;

/** One row's line: a comment's newlines as character references (the same text in a browser), so that a row is one line. */
function rowHtml(suite: string, arch: string, r: FailedRow, n: NoteData | undefined, withNotes: boolean): string {
  const root = rootFrom(2);
  let html =
    `<tr><td><a href="${escapeHtml(packageHref(root, suite, arch, r.package))}">${escapeHtml(r.package)}</a></td><td>${escapeHtml(r.version)}</td>` +
    `<td class="${escapeHtml(statusClass(r.status))}">${escapeHtml(r.status)}</td><td>${escapeHtml(fmtDate(r.build_date))}</td>`;
  if (withNotes) {
    const issues = (n?.issues ?? []).map((i) => `<a href="${escapeHtml(issueHref(root, i))}">${escapeHtml(i)}</a>`).join(', ');
    html += `<td>${issues}</td><td class="num">${n?.bugs.length ?? 0}</td><td>${escapeHtml(n?.comments ?? '').replace(/\n/g, '&#10;')}</td>`;
  }
  return `${html}</tr>\n`;
}

function listView(suite: string, arch: string, id: NotesPageId, count: number, rowsHtml: string): ReturnType<typeof pageBase> & Record<string, unknown> {
  const root = rootFrom(2);
  const heading = id === 'notes' ? 'FTBR and FTBFS packages with notes' : 'FTBR and FTBFS packages without notes';
  return {
    ...pageBase(`${suite}/${arch}: ${heading} (${count})`, 2, undefined, ''),
    suite,
    arch,
    heading,
    withNotes: id === 'notes',
    count,
    rowsHtml,
    statuses: ['FTBR', 'FTBFS'].map((s) => ({ href: statusHref(root, suite, arch, s), label: s })),
    lists: listLinks(root, suite, arch, id),
    scheduledHref: scheduledHref(root, suite, arch),
  };
}

/** Both pages from all of the suite/arch's FTBR and FTBFS (`notes`: every note, else those of these packages are read). */
export function renderNotesLists(ctx: RenderContext, suite: string, arch: string, notes?: ReadonlyMap<string, NoteData>): NotesListsState {
  const rows = failedResults(ctx.reader.db, suite, arch);
  const noted = notes ?? notesOf(ctx.reader.db, JSON.stringify(rows.map((r) => r.package)));
  const out = {} as NotesListsState;
  for (const id of IDS) {
    const shown = rows.filter((r) => noted.has(r.package) === (id === 'notes'));
    const html = ctx.renderer.render(
      'notes-list',
      listView(suite, arch, id, shown.length, shown.map((r) => rowHtml(suite, arch, r, noted.get(r.package), id === 'notes')).join('')),
    );
    ctx.writer.writeIfChanged(pagePath(suite, arch, id), html);
    out[id] = { count: shown.length, size: Buffer.byteLength(html) };
  }
  return out;
}

/** The changed packages' lines spliced into both pages as the last render wrote them (`state`); NotSpliceable when they are not. */
export function spliceNotesLists(
  ctx: RenderContext,
  suite: string,
  arch: string,
  state: NotesListsState | undefined,
  changed: readonly string[],
): NotesListsState {
  if (!state) throw new NotSpliceable('no state of the notes lists');
  const fresh = failedResults(ctx.reader.db, suite, arch, changed);
  const noted = notesOf(ctx.reader.db, JSON.stringify(changed));
  return new Splice(ctx, changed.map(bytes)).run((splice) => {
    const out = {} as NotesListsState;
    const spliced = IDS.map((id) => {
      const rows = fresh.filter((r) => noted.has(r.package) === (id === 'notes'));
      const lines = new Map(rows.map((r) => [bytes(r.package), Buffer.from(rowHtml(suite, arch, r, noted.get(r.package), id === 'notes'))]));
      return splice.rows({ rel: pagePath(suite, arch, id), size: state[id].size, before: state[id].count, lines });
    });
    IDS.forEach((id, i) => {
      const s = spliced[i];
      if (!s) return;
      out[id] = { count: s.count, size: s.changed ? splice.write(s, listView(suite, arch, id, s.count, ROWS), 'notes-list') : s.size };
    });
    return out;
  });
}
