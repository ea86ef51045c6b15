/**
 * One suite and architecture's status pages (`index_<STATUS>.html`), its
 * part of reproducible.json (a fragment file) and its counts per status (for
 * the dashboard).
 *
 * A full render, or an incremental one with many changed packages, reads the
 * whole listing (every current source with its result) and renders every
 * page from it. An incremental render with a few changed packages does not:
 * a status page's rows are one line per package, sorted by name, so it takes
 * the changed packages' lines out of the pages rendered last time and puts
 * their new lines in (by binary search), and the same for the JSON fragment.
 * The bytes are the ones a full render writes; when the pages are not what
 * this code wrote (missing, edited, an older layout), it falls back to the
 * listing (the line machinery: splice-lines.ts).
 *
 * The FTBR packages are also split by culprit (culprit-groups.ts): one page
 * per group, `index_FTBR_culprit_<GROUP>.html`, of the FTBR page's own lines,
 * spliced the same way; a group with no package has no page. The FTBR page
 * links each group's page with its count, which changes only when one of its
 * lines does (a line shows its groups).
 */
import { fragmentFile } from './context.js';
import { closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import { STATUSES } from '../core/statuses.js';
import type { ListRow } from '../db/site.js';
import { countGroups, culpritGroups, culpritPageName, groupOfPage, groupsOfLine } from './culprit-groups.js';
import { JsonCache } from './json-cache.js';
import { listPagesState, renderAllFromListing, renderRecentPages, spliceAll, writeSplicedAll } from './list-pages.js';
import { culpritPageOf, groupByStatus, jsonFragment, jsonRow, rowsHtmlOf, statusPageOf, statusRowHtml } from './model-status.js';
import type { BatchContext } from './packages.js';
import type { TemplateName } from './render.js';
import {
  BufferLines,
  bytes,
  COMMA_NL,
  FileLines,
  jsonKey,
  jsonRowOf,
  locate,
  NotSpliceable,
  openAsWritten,
  rowKey,
  rowsRegion,
  spliceFragment,
  spliceLines,
  type LineSource,
} from './splice-lines.js';
import type { PageBase } from './model.js';
import type { Piece } from './pieces.js';
import type { PendingFile } from './writer.js';

/** Above this many changed packages in one suite/arch, reading the whole listing is cheaper than splicing. */
const SPLICE_LIMIT = 500;

export interface StatusPagesState {
  version: 3;
  /** packages per status (untested included): the rows of each status page */
  counts: Record<string, number>;
  /** the byte size each status page was written with: a page of another size is not spliced */
  sizes: Record<string, number>;
  /** FTBR packages per culprit group (none: no page), and the size each group's page was written with */
  groups: Record<string, number>;
  groupSizes: Record<string, number>;
  fragmentSize: number;
}

/** What the last render wrote of a suite/arch's status pages: `<suite>_<arch>.status.json` beside its JSON fragment. */
export function statusPagesState(fragmentDir: string, suite: string, arch: string): JsonCache<StatusPagesState> {
  return new JsonCache<StatusPagesState>(
    join(fragmentDir, `${suite}_${arch}.status.json`),
    (v) => v.version === 3 && Boolean(v.counts && v.sizes && v.groups && v.groupSizes) && typeof v.fragmentSize === 'number',
  );
}

function pagePath(suite: string, arch: string, status: string): string {
  return `${suite}/${arch}/index_${status}.html`;
}

function groupPath(suite: string, arch: string, group: string): string {
  return `${suite}/${arch}/${culpritPageName(group)}`;
}

/**
 * Render one suite/arch's status pages, fragment and counts. `changed`: the
 * packages whose rows may have changed since the last render (undefined:
 * any). Returns the number of pages written, and whether they were spliced.
 */
export function renderStatusPages(
  ctx: BatchContext,
  suite: string,
  arch: string,
  fragmentDir: string,
  changed?: readonly string[],
): { statusPages: number; spliced: number } {
  if (!ctx.full && changed && changed.length <= SPLICE_LIMIT) {
    try {
      return { statusPages: splicePages(ctx, suite, arch, fragmentDir, changed), spliced: 1 };
    } catch (err) {
      if (!(err instanceof NotSpliceable)) throw err;
    }
  }
  return { statusPages: renderFromListing(ctx, suite, arch, fragmentDir), spliced: 0 };
}

function renderFromListing(ctx: BatchContext, suite: string, arch: string, fragmentDir: string): number {
  const listing = ctx.reader.snapshot(() => ctx.reader.listing(suite, arch));
  const by = groupByStatus(listing);
  const statuses = [...by.keys()];
  const ftbr = by.get('FTBR') ?? [];
  const groups = countGroups(ftbr);
  const counts: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  let n = 0;
  for (const [status, rows] of by) {
    counts[status] = rows.length;
    const html = Buffer.from(ctx.renderer.render('status', statusPageOf(suite, arch, status, rows.length, rowsHtmlOf(suite, arch, rows), statuses, groups)));
    sizes[status] = html.length;
    if (writeIfChanged(ctx, pagePath(suite, arch, status), html)) n++;
  }
  const culprits = renderGroupPages(ctx, suite, arch, ftbr, statuses);
  const write = (rel: string, html: Buffer): boolean => writeIfChanged(ctx, rel, html);
  const all = renderAllFromListing(ctx, suite, arch, listing, statuses, write);
  const recent = renderRecentPages(ctx, suite, arch, statuses, write);
  const fragment = Buffer.from(
    jsonFragment(
      suite,
      arch,
      listing.filter((r) => r.status !== 'untested'),
    ),
  );
  writeFileAtomicSync(fragmentFile(fragmentDir, suite, arch), fragment);
  statusPagesState(fragmentDir, suite, arch).write({ version: 3, counts, sizes, groups, groupSizes: culprits.sizes, fragmentSize: fragment.length });
  listPagesState(fragmentDir, suite, arch).write({
    version: 2,
    allCount: all.allCount,
    allSize: all.allSize,
    asOf: ctx.asOf,
    due: recent.due,
    recent: recent.recent,
  });
  // what an older reprofarm kept to the same end
  rmSync(join(fragmentDir, `${suite}_${arch}.status-hashes.json`), { force: true });
  return n + culprits.written + all.written + recent.written;
}

/** A page whose bytes did not change is not written again (a full render writes all). */
function writeIfChanged(ctx: BatchContext, rel: string, html: Buffer): boolean {
  if (!ctx.full && readIfExists(ctx.writer.path(rel))?.equals(html)) return false;
  ctx.writer.write(rel, html);
  return true;
}

/** Each culprit group's page of a suite/arch's FTBR rows; the pages of groups with none go. */
function renderGroupPages(
  ctx: BatchContext,
  suite: string,
  arch: string,
  ftbr: readonly ListRow[],
  statuses: readonly string[],
): { sizes: Record<string, number>; written: number } {
  const members = new Map<string, ListRow[]>();
  for (const r of ftbr) {
    for (const g of culpritGroups(r)) {
      let l = members.get(g);
      if (!l) members.set(g, (l = []));
      l.push(r);
    }
  }
  const sizes: Record<string, number> = {};
  let written = 0;
  for (const [g, rows] of members) {
    const html = Buffer.from(ctx.renderer.render('status', culpritPageOf(suite, arch, g, rows.length, rowsHtmlOf(suite, arch, rows), statuses)));
    sizes[g] = html.length;
    if (writeIfChanged(ctx, groupPath(suite, arch, g), html)) written++;
  }
  removeGroupPages(ctx, suite, arch, new Set(members.keys()));
  return { sizes, written };
}

/** The group pages of a suite/arch's folder but those of `keep`. */
function removeGroupPages(ctx: BatchContext, suite: string, arch: string, keep: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(ctx.writer.path(`${suite}/${arch}`));
  } catch {
    return;
  }
  for (const n of names) {
    const group = groupOfPage(n);
    if (group !== null && !keep.has(group)) ctx.writer.remove(`${suite}/${arch}/${n}`);
  }
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Stands for the rows when a page is rendered around them: a NUL cannot come out of an escaped template. */
export const ROWS = '\0rows\0';

/** One page to splice: where, as the last render wrote it, and its changed packages' new lines. */
interface PageRows {
  rel: string;
  /** the size it was written with; null: it has no page yet (a culprit group's first package) */
  size: number | null;
  before: number;
  lines: ReadonlyMap<string, Uint8Array>;
}

/** A page's rows spliced, the page not written yet. */
export interface SplicedRows {
  rel: string;
  file: string;
  /** where its rows were in the file */
  region: { start: number; end: number };
  pieces: ReturnType<typeof spliceLines>['pieces'];
  /** the old lines it removed or replaced, and the keys whose line was already the new one */
  replaced: Buffer[];
  unchanged: string[];
  count: number;
  /** the size it was written with (0: none) */
  size: number;
  changed: boolean;
}

/**
 * The files of one splice: every page is spliced into a file beside it before any is renamed into
 * place, so that a page that is not what this code wrote falls back to the listing with nothing half done.
 */
export class Splice {
  readonly pending: PendingFile[] = [];
  private readonly fds: number[] = [];

  /** `keyOf`: a row's key, as a byte string (a status page's: its package) */
  constructor(
    private readonly ctx: Pick<BatchContext, 'writer' | 'renderer'>,
    private readonly keys: readonly string[],
    private readonly keyOf: (line: Buffer) => string = rowKey,
  ) {}

  private open(file: string, size: number): number {
    const fd = openAsWritten(file, size);
    this.fds.push(fd);
    return fd;
  }

  /** A page's rows with the changed packages' lines replaced, removed or put in. */
  rows(p: PageRows): SplicedRows {
    const file = this.ctx.writer.path(p.rel);
    let src: LineSource = new BufferLines(Buffer.alloc(0));
    let region = { start: 0, end: 0 };
    if (p.size !== null) {
      const fd = this.open(file, p.size);
      region = rowsRegion(fd, p.size);
      src = new FileLines(fd, region.start, region.end - region.start);
    }
    const spliced = spliceLines(src, this.keys, p.lines, this.keyOf);
    const { pieces, replaced, unchanged, changed } = spliced;
    return { rel: p.rel, file, region, pieces, replaced, unchanged, count: p.before + spliced.delta, size: p.size ?? 0, changed };
  }

  /** A page none of the changed packages is on, as it is (not read). */
  untouched(p: Omit<PageRows, 'lines'>): SplicedRows {
    const file = this.ctx.writer.path(p.rel);
    return { rel: p.rel, file, region: { start: 0, end: 0 }, pieces: [], replaced: [], unchanged: [], count: p.before, size: p.size ?? 0, changed: false };
  }

  /** A changed page, its rows in the page around them; returns the size written. */
  write(s: SplicedRows, view: PageBase, template: TemplateName = 'status'): number {
    const around = this.ctx.renderer.render(template, view);
    const at = around.indexOf(ROWS);
    const rows = s.pieces.map((x) => (x instanceof Uint8Array ? x : { file: s.file, start: s.region.start + x.start, end: s.region.start + x.end }));
    if (at < 0 && rows.length > 0) throw new NotSpliceable('rows for a page without a table');
    const pieces: Piece[] = at < 0 ? [around] : [around.slice(0, at), ...rows, around.slice(at + ROWS.length)];
    const f = this.ctx.writer.prepare(s.rel, pieces);
    this.pending.push(f);
    return f.size;
  }

  /** The reproducible.json fragment: rows joined by ',\n', spliced as lines that all end in ',\n' (the last one's is not in the file). */
  fragment(fragmentFile: string, size: number, lines: ReadonlyMap<string, Uint8Array>): number {
    const fd = this.open(fragmentFile, size);
    const spliced = spliceFragment(new FileLines(fd, 0, size, size > 0 ? COMMA_NL : undefined), size, this.keys, lines);
    if (!spliced.changed) return size;
    const pieces = spliced.pieces.map((p) => (p instanceof Uint8Array ? p : { file: fragmentFile, ...p }));
    const f = this.ctx.writer.prepare(relative(this.ctx.writer.root, fragmentFile), pieces, { bookkeeping: true });
    this.pending.push(f);
    return f.size;
  }

  discard(): void {
    for (const p of this.pending) p.discard();
  }

  /** `fn` over this splice: the files it wrote renamed into place if it returns, removed if it throws; the pages it read closed either way. */
  run<T>(fn: (splice: this) => T): T {
    try {
      const out = fn(this);
      for (const f of this.pending) f.commit();
      return out;
    } catch (err) {
      this.discard();
      throw err;
    } finally {
      this.close();
    }
  }

  close(): void {
    for (const fd of this.fds) closeSync(fd);
  }
}

function splicePages(ctx: BatchContext, suite: string, arch: string, fragmentDir: string, changed: readonly string[]): number {
  const state = statusPagesState(fragmentDir, suite, arch).read();
  if (!state) throw new NotSpliceable('no state from the last render');
  const fresh = ctx.reader.snapshot(() => ctx.reader.listingOf(suite, arch, changed));
  const known = new Set<string>(STATUSES);
  for (const r of fresh) if (!known.has(r.status)) throw new NotSpliceable(`a status this code has no page for: ${r.status}`);
  const line = new Map(fresh.map((r) => [r.package, Buffer.from(statusRowHtml(suite, arch, r))]));
  const linesOf = (rows: readonly ListRow[]): Map<string, Uint8Array> => new Map(rows.map((r) => [bytes(r.package), line.get(r.package) ?? Buffer.alloc(0)]));
  const splice = new Splice(ctx, changed.map(bytes));
  // only the pages the changed packages were on or are on now can change: the others are not opened
  const touched = new Set<string>([...fresh.map((r) => r.status), ...lastStatuses(fragmentFile(fragmentDir, suite, arch), state.fragmentSize, changed)]);
  const lists = listPagesState(fragmentDir, suite, arch);
  let listsNext = lists.read();
  const next: StatusPagesState = { version: 3, counts: {}, sizes: {}, groups: state.groups, groupSizes: state.groupSizes, fragmentSize: state.fragmentSize };
  let pages = 0;
  let gone: string[] = [];
  try {
    const spliced = STATUSES.map((status) => {
      const page = { rel: pagePath(suite, arch, status), size: state.sizes[status] ?? -1, before: state.counts[status] ?? 0 };
      if (!touched.has(status) && page.size >= 0) return splice.untouched(page);
      return splice.rows({ ...page, lines: linesOf(fresh.filter((r) => r.status === status)) });
    });
    // a culprit group's page has the FTBR page's lines: it changes only with them (and the FTBR page links the groups with their counts)
    const ftbrPage = spliced[STATUSES.indexOf('FTBR')];
    if (ftbrPage?.changed) {
      const g = spliceGroups(splice, suite, arch, state, { ftbr: fresh.filter((r) => r.status === 'FTBR'), oldLines: ftbrPage.replaced }, linesOf);
      [next.groups, next.groupSizes, gone] = [g.groups, g.sizes, g.gone];
      pages += g.pages;
    }
    STATUSES.forEach((status, i) => {
      const s = spliced[i] as SplicedRows;
      next.counts[status] = s.count;
      next.sizes[status] = s.changed ? splice.write(s, statusPageOf(suite, arch, status, s.count, ROWS, STATUSES, next.groups)) : s.size;
      if (s.changed) pages++;
    });
    const all = spliceAll(splice, suite, arch, listsNext, fresh);
    if (all.changed) pages++;
    if (listsNext) listsNext = { ...listsNext, ...writeSplicedAll(splice, all, suite, arch, STATUSES, ROWS) };
    const jsonLines = new Map(fresh.filter((r) => r.status !== 'untested').map((r) => [bytes(r.package), Buffer.from(`${jsonRow(suite, arch, r)},\n`)]));
    next.fragmentSize = splice.fragment(fragmentFile(fragmentDir, suite, arch), state.fragmentSize, jsonLines);
  } catch (err) {
    splice.discard();
    throw err;
  } finally {
    splice.close();
  }
  for (const p of splice.pending) p.commit();
  for (const rel of gone) ctx.writer.remove(rel);
  statusPagesState(fragmentDir, suite, arch).write(next);
  const recent = renderRecentPages(ctx, suite, arch, STATUSES, (rel, html) => writeIfChanged(ctx, rel, html), { state: listsNext, names: changed, fresh });
  if (listsNext) lists.write({ ...listsNext, asOf: ctx.asOf, due: recent.due, recent: recent.recent });
  return pages + recent.written;
}

/**
 * The statuses the last render gave `names`, from its reproducible.json fragment (of the size it
 * wrote: else NotSpliceable); a package not in it was untested or not listed.
 */
function lastStatuses(file: string, size: number, names: readonly string[]): string[] {
  const fd = openAsWritten(file, size);
  try {
    const src = new FileLines(fd, 0, size, size > 0 ? COMMA_NL : undefined);
    return names.map((n) => {
      const { at, end } = locate(src, bytes(n), jsonKey);
      if (end === at) return 'untested';
      const status = jsonRowOf(Buffer.from(src.bytes(at, end - 1))).status;
      if (typeof status !== 'string') throw new NotSpliceable('a JSON row without its status');
      return status;
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * The culprit groups' pages spliced: their new counts and sizes, and those left with no package (their
 * pages go). Only the groups the changed packages were in (their old FTBR lines say which) or are in now.
 */
function spliceGroups(
  splice: Splice,
  suite: string,
  arch: string,
  state: StatusPagesState,
  changed: { ftbr: readonly ListRow[]; oldLines: readonly Buffer[] },
  linesOf: (rows: readonly ListRow[]) => Map<string, Uint8Array>,
): { groups: Record<string, number>; sizes: Record<string, number>; gone: string[]; pages: number } {
  const out = { groups: { ...state.groups }, sizes: { ...state.groupSizes }, gone: [] as string[], pages: 0 };
  const touched = new Set(changed.ftbr.flatMap(culpritGroups));
  for (const l of changed.oldLines) {
    const groups = groupsOfLine(l.toString('latin1'));
    if (!groups) throw new NotSpliceable('an FTBR row without its culprit cell');
    for (const g of groups) touched.add(g);
  }
  for (const g of touched) {
    const before = state.groups[g] ?? 0;
    const rel = groupPath(suite, arch, g);
    const lines = linesOf(changed.ftbr.filter((r) => culpritGroups(r).includes(g)));
    const s = splice.rows({ rel, size: before > 0 ? (state.groupSizes[g] ?? -1) : null, before, lines });
    if (s.changed) out.pages++;
    if (s.count > 0) {
      out.groups[g] = s.count;
      out.sizes[g] = s.changed ? splice.write(s, culpritPageOf(suite, arch, g, s.count, ROWS, STATUSES)) : s.size;
      continue;
    }
    delete out.groups[g];
    delete out.sizes[g];
    if (before > 0) out.gone.push(rel);
  }
  return out;
}
