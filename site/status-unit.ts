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
 * listing.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import { STATUSES } from '../core/statuses.js';
import { groupByStatus, jsonFragment, jsonRow, statusPageOf, statusRowHtml } from './model.js';
import type { BatchContext } from './packages.js';
import { readHeld, type PendingFile } from './writer.js';

/** Above this many changed packages in one suite/arch, reading the whole listing is cheaper than splicing. */
export const SPLICE_LIMIT = 500;

export interface UnitState {
  version: 1;
  /** packages per status (untested included): the rows of each status page */
  counts: Record<string, number>;
}

export function unitStateFile(fragmentDir: string, suite: string, arch: string): string {
  return join(fragmentDir, `${suite}_${arch}.status.json`);
}

export function readUnitState(file: string): UnitState | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<UnitState>;
    if (v.version === 1 && v.counts && typeof v.counts === 'object') return v as UnitState;
  } catch {
    // missing or unreadable: the listing is read again
  }
  return undefined;
}

/** Why a page cannot be spliced: the unit is rendered from its listing instead. */
class NotSpliceable extends Error {}

/** By character code: on byte strings (see `bytes`), SQLite's BINARY order, the listing's. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Edit {
  key: string;
  at: number;
  /** the end of the line replaced, or `at` when the key was not there */
  end: number;
  line: Uint8Array | undefined;
}

const NL = 0x0a;

/** In `text` (lines ending in '\n', sorted by key), where the line of `key` is, or where it would go. */
function locate(text: Buffer, key: string, keyOf: (line: Buffer) => string): { at: number; end: number } {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = mid === 0 ? 0 : text.lastIndexOf(NL, mid - 1) + 1;
    const nl = text.indexOf(NL, start);
    if (nl < 0) throw new NotSpliceable('a line without its newline');
    const c = compareNames(keyOf(text.subarray(start, nl)), key);
    if (c < 0) lo = nl + 1;
    else if (c > 0) hi = start;
    else return { at: start, end: nl + 1 };
  }
  return { at: lo, end: lo };
}

/**
 * Replace the lines of `keys` in `text`: a key's line is removed where it is
 * and its new line (from `lines`, if any) put in its place by order. Keys are
 * byte strings (see `bytes`): compared by character code, they compare as
 * UTF-8 bytes. Returns the new text as pieces (parts of `text` and new lines)
 * and how many lines it gained (negative: lost).
 */
export function spliceLines(
  text: Buffer, keys: readonly string[], lines: ReadonlyMap<string, Uint8Array>, keyOf: (line: Buffer) => string,
): { pieces: Uint8Array[]; delta: number; changed: boolean } {
  const edits: Edit[] = [];
  let delta = 0;
  for (const key of new Set(keys)) {
    const { at, end } = locate(text, key, keyOf);
    const line = lines.get(key);
    if (end === at && line === undefined) continue;
    if (line !== undefined && end > at && text.subarray(at, end).equals(line)) continue;
    edits.push({ key, at, end, line });
    delta += (line === undefined ? 0 : 1) - (end > at ? 1 : 0);
  }
  if (edits.length === 0) return { pieces: [text], delta: 0, changed: false };
  edits.sort((a, b) => a.at - b.at || compareNames(a.key, b.key));
  const pieces: Uint8Array[] = [];
  let pos = 0;
  for (const e of edits) {
    if (e.at > pos) pieces.push(text.subarray(pos, e.at));
    if (e.line) pieces.push(e.line);
    pos = Math.max(pos, e.end);
  }
  if (pos < text.length) pieces.push(text.subarray(pos));
  return { pieces, delta, changed: true };
}

const TBODY = '<tbody>\n';

/** A status page's rows: the lines between `<tbody>` and `</tbody>` (none for an empty page). */
function rowsOf(html: Buffer): Buffer {
  const start = html.indexOf(TBODY);
  if (start < 0) return html.subarray(0, 0);
  const end = html.indexOf('</tbody>', start);
  if (end < 0) throw new NotSpliceable('a table without its end');
  return html.subarray(start + TBODY.length, end);
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The package a status page's line is of: its link's text, as a byte string. */
function rowKey(bytesOfLine: Buffer): string {
  const line = bytesOfLine.toString('latin1');
  const a = line.indexOf('">');
  const b = line.indexOf('</a>', a);
  if (a < 0 || b < 0) throw new NotSpliceable('a row without its link');
  return line.slice(a + 2, b).replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e);
}

/** The package a reproducible.json line (`{...},`) is of, as a byte string. */
function jsonKey(line: Buffer): string {
  let v: { package?: unknown };
  try {
    v = JSON.parse(line.toString('latin1', 0, line.length - 1)) as { package?: unknown };
  } catch {
    throw new NotSpliceable('a JSON row that does not parse');
  }
  if (typeof v.package !== 'string') throw new NotSpliceable('a JSON row without its package');
  return v.package;
}

function lineCount(text: Buffer): number {
  let n = 0;
  for (let i = text.indexOf(NL); i >= 0; i = text.indexOf(NL, i + 1)) n++;
  return n;
}

function pagePath(suite: string, arch: string, status: string): string {
  return `${suite}/${arch}/index_${status}.html`;
}

/**
 * Render one suite/arch's status pages, fragment and counts. `changed`: the
 * packages whose rows may have changed since the last render (undefined:
 * any). Returns the number of pages written, and whether they were spliced.
 */
export function renderStatusUnit(ctx: BatchContext, suite: string, arch: string, fragmentDir: string, changed?: readonly string[]): { statusPages: number; spliced: number } {
  if (!ctx.full && changed && changed.length <= SPLICE_LIMIT) {
    try {
      return { statusPages: spliceUnit(ctx, suite, arch, fragmentDir, changed), spliced: 1 };
    } catch (err) {
      if (!(err instanceof NotSpliceable)) throw err;
    }
  }
  return { statusPages: listUnit(ctx, suite, arch, fragmentDir), spliced: 0 };
}

function writeCounts(fragmentDir: string, suite: string, arch: string, counts: Record<string, number>): void {
  writeFileAtomicSync(unitStateFile(fragmentDir, suite, arch), JSON.stringify({ version: 1, counts } satisfies UnitState));
}

function listUnit(ctx: BatchContext, suite: string, arch: string, fragmentDir: string): number {
  const listing = ctx.reader.snapshot(() => ctx.reader.listing(suite, arch));
  const by = groupByStatus(listing);
  const statuses = [...by.keys()];
  const counts: Record<string, number> = {};
  let n = 0;
  for (const [status, rows] of by) {
    counts[status] = rows.length;
    const html = Buffer.from(ctx.renderer.render('status', statusPageOf(suite, arch, status, rows.length, rows.map((r) => statusRowHtml(suite, arch, r)).join(''), statuses)));
    const rel = pagePath(suite, arch, status);
    // a page whose bytes did not change is not written again (a full render writes all)
    if (!ctx.full && readIfExists(ctx.writer.path(rel))?.equals(html)) continue;
    ctx.writer.write(rel, html);
    n++;
  }
  writeFileAtomicSync(join(fragmentDir, `${suite}_${arch}.json`), jsonFragment(suite, arch, listing.filter((r) => r.status !== 'untested')));
  writeCounts(fragmentDir, suite, arch, counts);
  // what an older reprofarm kept to the same end
  rmSync(join(fragmentDir, `${suite}_${arch}.status-hashes.json`), { force: true });
  return n;
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Names are compared as "byte strings": one character per byte of their
 * UTF-8 (latin1 of it), so that comparing them by character code compares
 * UTF-8 bytes, the listing's order, and a line's name can be read from its
 * bytes without decoding the page.
 */
function bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Stands for the rows when a page is rendered around them: a NUL cannot come out of an escaped template. */
const ROWS = '\0rows\0';

function spliceUnit(ctx: BatchContext, suite: string, arch: string, fragmentDir: string, changed: readonly string[]): number {
  const fragmentFile = join(fragmentDir, `${suite}_${arch}.json`);
  const state = readUnitState(unitStateFile(fragmentDir, suite, arch));
  if (!state) throw new NotSpliceable('no counts from the last render');
  const fresh = ctx.reader.snapshot(() => ctx.reader.listingOf(suite, arch, changed));
  const known = new Set<string>(STATUSES);
  for (const r of fresh) if (!known.has(r.status)) throw new NotSpliceable(`a status this code has no page for: ${r.status}`);
  const keys = changed.map(bytes);
  const counts: Record<string, number> = {};
  // every page is spliced into a file beside it before any is renamed into place:
  // a page this code cannot read falls back to the listing with nothing half done
  const pending: PendingFile[] = [];
  let pages = 0;
  try {
    for (const status of STATUSES) {
      const html = readHeld(ctx.writer.path(pagePath(suite, arch, status)));
      if (html === undefined) throw new NotSpliceable(`no ${status} page`);
      const rows = rowsOf(html);
      // the page must hold the rows the last render counted: else it is not the page this code wrote
      const before = state.counts[status] ?? 0;
      if (lineCount(rows) !== before) throw new NotSpliceable(`the ${status} page does not have the rows last counted`);
      const lines = new Map(fresh.filter((r) => r.status === status).map((r) => [bytes(r.package), Buffer.from(statusRowHtml(suite, arch, r))]));
      const spliced = spliceLines(rows, keys, lines, rowKey);
      counts[status] = before + spliced.delta;
      if (!spliced.changed) continue;
      const around = ctx.renderer.render('status', statusPageOf(suite, arch, status, before + spliced.delta, ROWS, STATUSES));
      const at = around.indexOf(ROWS);
      pending.push(ctx.writer.prepare(pagePath(suite, arch, status), [around.slice(0, at), ...spliced.pieces, around.slice(at + ROWS.length)]));
      pages++;
    }
    // the fragment: rows joined by ',\n', spliced as lines that all end in ',\n' (two bytes of room after it)
    const old = readHeld(fragmentFile, 2);
    if (old === undefined) throw new NotSpliceable('no fragment from the last render');
    const text = Buffer.from(old.buffer, old.byteOffset, old.length === 0 ? 0 : old.length + 2);
    if (old.length > 0) text.write(',\n', old.length, 'latin1');
    const jsonLines = new Map(fresh.filter((r) => r.status !== 'untested').map((r) => [bytes(r.package), Buffer.from(`${jsonRow(suite, arch, r)},\n`)]));
    const spliced = spliceLines(text, keys, jsonLines, jsonKey);
    if (spliced.changed) {
      const pieces = spliced.pieces.filter((p) => p.length > 0);
      const last = pieces.pop();
      if (last) pieces.push(last.subarray(0, last.length - 2));
      pending.push(ctx.writer.prepare(relative(ctx.writer.root, fragmentFile), pieces, { bookkeeping: true }));
    }
  } catch (err) {
    for (const p of pending) p.discard();
    throw err;
  }
  for (const p of pending) p.commit();
  writeCounts(fragmentDir, suite, arch, counts);
  return pages;
}
