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
import { closeSync, fstatSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import { STATUSES } from '../core/statuses.js';
import { JsonCache } from './json-cache.js';
import { groupByStatus, jsonFragment, jsonRow, statusPage, statusPageOf, statusRowHtml } from './model-status.js';
import type { BatchContext } from './packages.js';
import type { PendingFile, Piece } from './writer.js';

/** Above this many changed packages in one suite/arch, reading the whole listing is cheaper than splicing. */
const SPLICE_LIMIT = 500;

export interface StatusPagesState {
  version: 2;
  /** packages per status (untested included): the rows of each status page */
  counts: Record<string, number>;
  /** the byte size each status page was written with: a page of another size is not spliced */
  sizes: Record<string, number>;
  fragmentSize: number;
}

/** What the last render wrote of a suite/arch's status pages: `<suite>_<arch>.status.json` beside its JSON fragment. */
export function statusPagesState(fragmentDir: string, suite: string, arch: string): JsonCache<StatusPagesState> {
  return new JsonCache<StatusPagesState>(
    join(fragmentDir, `${suite}_${arch}.status.json`),
    (v) => v.version === 2 && Boolean(v.counts && v.sizes) && typeof v.fragmentSize === 'number',
  );
}

/** Why a page cannot be spliced: the suite/arch's pages are rendered from its listing instead. */
class NotSpliceable extends Error {}

/** By character code: on byte strings (see `bytes`), SQLite's BINARY order, the listing's. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NL = 0x0a;

/** Lines (each ending in '\n') in a buffer or in a part of a file, read a window at a time. */
export interface LineSource {
  readonly length: number;
  /** the line around position `p` (0 <= p < length): where it starts and where its '\n' is */
  lineAt(p: number): { start: number; nl: number };
  bytes(start: number, end: number): Buffer;
}

export class BufferLines implements LineSource {
  constructor(private readonly b: Buffer) {}

  get length(): number {
    return this.b.length;
  }

  lineAt(p: number): { start: number; nl: number } {
    const start = p === 0 ? 0 : this.b.lastIndexOf(NL, p - 1) + 1;
    const nl = this.b.indexOf(NL, start);
    if (nl < 0) throw new NotSpliceable('a line without its newline');
    return { start, nl };
  }

  bytes(start: number, end: number): Buffer {
    return this.b.subarray(start, end);
  }
}

/**
 * `length` bytes of an open file from `offset`, then `suffix` (bytes the file
 * does not have): a binary search reads a few kilobytes, not the file.
 */
export class FileLines implements LineSource {
  readonly length: number;
  private window = Buffer.alloc(0);
  private wStart = 0;

  constructor(
    private readonly fd: number,
    private readonly offset: number,
    private readonly fileLength: number,
    private readonly suffix = Buffer.alloc(0),
  ) {
    this.length = fileLength + suffix.length;
  }

  private load(start: number, end: number): void {
    start = Math.max(0, start);
    end = Math.min(this.length, end);
    if (start >= this.wStart && end <= this.wStart + this.window.length) return;
    const b = Buffer.allocUnsafe(end - start);
    const fromFile = Math.max(0, Math.min(end, this.fileLength) - start);
    let off = 0;
    while (off < fromFile) {
      const n = readSync(this.fd, b, off, fromFile - off, this.offset + start + off);
      if (n === 0) throw new NotSpliceable('a file shorter than it was');
      off += n;
    }
    if (end > this.fileLength) this.suffix.copy(b, fromFile, Math.max(0, start - this.fileLength), end - this.fileLength);
    this.window = b;
    this.wStart = start;
  }

  lineAt(p: number): { start: number; nl: number } {
    for (let reach = 4096; ; reach *= 4) {
      this.load(p - reach, p + reach);
      const rel = p - this.wStart;
      const back = rel === 0 ? -1 : this.window.lastIndexOf(NL, rel - 1);
      const fwd = this.window.indexOf(NL, rel);
      if ((back >= 0 || this.wStart === 0) && fwd >= 0) return { start: this.wStart + back + 1, nl: this.wStart + fwd };
      if (this.wStart === 0 && this.window.length === this.length) throw new NotSpliceable('a line without its newline');
    }
  }

  bytes(start: number, end: number): Buffer {
    this.load(start, end);
    return this.window.subarray(start - this.wStart, end - this.wStart);
  }
}

/** In `src` (lines sorted by key), where the line of `key` is, or where it would go. */
function locate(src: LineSource, key: string, keyOf: (line: Buffer) => string): { at: number; end: number } {
  let lo = 0;
  let hi = src.length;
  while (lo < hi) {
    const { start, nl } = src.lineAt((lo + hi) >>> 1);
    const c = compareNames(keyOf(src.bytes(start, nl)), key);
    if (c < 0) lo = nl + 1;
    else if (c > 0) hi = start;
    else return { at: start, end: nl + 1 };
  }
  return { at: lo, end: lo };
}

/** A part of the source kept as it was. */
export interface Kept {
  start: number;
  end: number;
}

/**
 * Replace the lines of `keys` in `src`: a key's line is removed where it is
 * and its new line (from `lines`, if any) put in its place by order. Keys are
 * byte strings (see `bytes`): compared by character code, they compare as
 * UTF-8 bytes. Returns the new text as pieces (parts of `src` kept, new
 * lines), how many lines it gained (negative: lost), and whether it changed.
 */
export function spliceLines(
  src: LineSource,
  keys: readonly string[],
  lines: ReadonlyMap<string, Uint8Array>,
  keyOf: (line: Buffer) => string,
): { pieces: (Kept | Uint8Array)[]; delta: number; changed: boolean } {
  const edits: { key: string; at: number; end: number; line: Uint8Array | undefined }[] = [];
  let delta = 0;
  for (const key of new Set(keys)) {
    const { at, end } = locate(src, key, keyOf);
    const line = lines.get(key);
    if (end === at && line === undefined) continue;
    if (line !== undefined && end > at && src.bytes(at, end).equals(line)) continue;
    edits.push({ key, at, end, line });
    delta += (line === undefined ? 0 : 1) - (end > at ? 1 : 0);
  }
  if (edits.length === 0) return { pieces: src.length > 0 ? [{ start: 0, end: src.length }] : [], delta: 0, changed: false };
  edits.sort((a, b) => a.at - b.at || compareNames(a.key, b.key));
  const pieces: (Kept | Uint8Array)[] = [];
  let pos = 0;
  for (const e of edits) {
    if (e.at > pos) pieces.push({ start: pos, end: e.at });
    if (e.line) pieces.push(e.line);
    pos = Math.max(pos, e.end);
  }
  if (pos < src.length) pieces.push({ start: pos, end: src.length });
  return { pieces, delta, changed: true };
}

const TBODY = '<tbody>\n';
const TBODY_END = '</tbody>';
const COMMA_NL = Buffer.from(',\n');

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

function pagePath(suite: string, arch: string, status: string): string {
  return `${suite}/${arch}/index_${status}.html`;
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
  const counts: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  let n = 0;
  for (const [status, rows] of by) {
    counts[status] = rows.length;
    const html = Buffer.from(ctx.renderer.render('status', statusPage(suite, arch, status, rows, statuses)));
    const rel = pagePath(suite, arch, status);
    sizes[status] = html.length;
    // a page whose bytes did not change is not written again (a full render writes all)
    if (!ctx.full && readIfExists(ctx.writer.path(rel))?.equals(html)) continue;
    ctx.writer.write(rel, html);
    n++;
  }
  const fragment = Buffer.from(
    jsonFragment(
      suite,
      arch,
      listing.filter((r) => r.status !== 'untested'),
    ),
  );
  writeFileAtomicSync(join(fragmentDir, `${suite}_${arch}.json`), fragment);
  statusPagesState(fragmentDir, suite, arch).write({ version: 2, counts, sizes, fragmentSize: fragment.length });
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
 * Splice a reproducible.json fragment: rows joined by ',\n'. `src` is the
 * fragment (`size` bytes) followed by a ',\n' it does not have, so that every
 * row is a line ending in ',\n'; the result drops the last row's again.
 * Pieces are new rows and parts of the fragment file (never of the suffix).
 */
export function spliceFragment(
  src: LineSource,
  size: number,
  keys: readonly string[],
  lines: ReadonlyMap<string, Uint8Array>,
): { pieces: (Kept | Uint8Array)[]; changed: boolean } {
  const spliced = spliceLines(src, keys, lines, jsonKey);
  if (!spliced.changed) return { pieces: [], changed: false };
  const pieces: (Kept | Uint8Array)[] = [];
  for (const p of spliced.pieces) {
    if (p instanceof Uint8Array) pieces.push(p);
    else {
      if (Math.min(p.end, size) > p.start) pieces.push({ start: p.start, end: Math.min(p.end, size) });
      // (whole: a line never begins inside the last line's ',\n')
      if (p.end > size) pieces.push(COMMA_NL);
    }
  }
  // the text ends in its last line's ',\n': it goes (every piece that can be last ends with a whole line)
  const last = pieces.pop();
  if (last === undefined || last === COMMA_NL) {
    // nothing left, or the old last line's, which the file does not have
  } else if (last instanceof Uint8Array && last.length >= 2) pieces.push(last.subarray(0, last.length - 2));
  else if (!(last instanceof Uint8Array) && last.end - last.start >= 2) pieces.push({ start: last.start, end: last.end - 2 });
  else throw new NotSpliceable('a fragment that does not end in a row');
  return { pieces, changed: true };
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

/** An open file of the last render, of the size it was written with. */
function openAsWritten(file: string, size: number | undefined): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new NotSpliceable(`${file} is missing`);
  }
  if (fstatSync(fd).size !== size) {
    closeSync(fd);
    throw new NotSpliceable(`${file} is not the size it was written with`);
  }
  return fd;
}

/** Where a status page's rows are: between `<tbody>` and `</tbody>` (none in a page without a table). */
function rowsRegion(fd: number, size: number): { start: number; end: number } {
  const headLen = Math.min(size, 65_536);
  const head = Buffer.allocUnsafe(headLen);
  readSync(fd, head, 0, headLen, 0);
  const t = head.indexOf(TBODY);
  if (t < 0) return { start: 0, end: 0 };
  const tailLen = Math.min(size, 65_536);
  const tail = Buffer.allocUnsafe(tailLen);
  readSync(fd, tail, 0, tailLen, size - tailLen);
  const e = tail.lastIndexOf(TBODY_END);
  if (e < 0) throw new NotSpliceable('a table without its end');
  return { start: t + TBODY.length, end: size - tailLen + e };
}

function splicePages(ctx: BatchContext, suite: string, arch: string, fragmentDir: string, changed: readonly string[]): number {
  const state = statusPagesState(fragmentDir, suite, arch).read();
  if (!state) throw new NotSpliceable('no state from the last render');
  const fresh = ctx.reader.snapshot(() => ctx.reader.listingOf(suite, arch, changed));
  const known = new Set<string>(STATUSES);
  for (const r of fresh) if (!known.has(r.status)) throw new NotSpliceable(`a status this code has no page for: ${r.status}`);
  const keys = changed.map(bytes);
  const counts: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  // every page is spliced into a file beside it before any is renamed into place: a page
  // that is not what this code wrote falls back to the listing with nothing half done
  const pending: PendingFile[] = [];
  const fds: number[] = [];
  let pages = 0;
  let fragmentSize = state.fragmentSize;
  try {
    for (const status of STATUSES) {
      const file = ctx.writer.path(pagePath(suite, arch, status));
      const size = state.sizes[status];
      const fd = openAsWritten(file, size);
      fds.push(fd);
      const before = state.counts[status] ?? 0;
      const region = rowsRegion(fd, size ?? 0);
      const lines = new Map(fresh.filter((r) => r.status === status).map((r) => [bytes(r.package), Buffer.from(statusRowHtml(suite, arch, r))]));
      const spliced = spliceLines(new FileLines(fd, region.start, region.end - region.start), keys, lines, rowKey);
      counts[status] = before + spliced.delta;
      sizes[status] = size ?? 0;
      if (!spliced.changed) continue;
      const around = ctx.renderer.render('status', statusPageOf(suite, arch, status, before + spliced.delta, ROWS, STATUSES));
      const at = around.indexOf(ROWS);
      const rows = spliced.pieces.map((p) => (p instanceof Uint8Array ? p : { file, start: region.start + p.start, end: region.start + p.end }));
      const pieces: Piece[] = at < 0 ? [around] : [around.slice(0, at), ...rows, around.slice(at + ROWS.length)];
      if (at < 0 && rows.length > 0) throw new NotSpliceable('rows for a page without a table');
      const p = ctx.writer.prepare(pagePath(suite, arch, status), pieces);
      sizes[status] = p.size;
      pending.push(p);
      pages++;
    }
    // the fragment: rows joined by ',\n', spliced as lines that all end in ',\n' (the last one's is not in the file)
    const fragmentFile = join(fragmentDir, `${suite}_${arch}.json`);
    const size = state.fragmentSize;
    const fd = openAsWritten(fragmentFile, size);
    fds.push(fd);
    const jsonLines = new Map(fresh.filter((r) => r.status !== 'untested').map((r) => [bytes(r.package), Buffer.from(`${jsonRow(suite, arch, r)},\n`)]));
    const spliced = spliceFragment(new FileLines(fd, 0, size, size > 0 ? COMMA_NL : undefined), size, keys, jsonLines);
    if (spliced.changed) {
      const pieces = spliced.pieces.map((p) => (p instanceof Uint8Array ? p : { file: fragmentFile, ...p }));
      const p = ctx.writer.prepare(relative(ctx.writer.root, fragmentFile), pieces, { bookkeeping: true });
      fragmentSize = p.size;
      pending.push(p);
    }
  } catch (err) {
    for (const p of pending) p.discard();
    throw err;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  for (const p of pending) p.commit();
  statusPagesState(fragmentDir, suite, arch).write({ version: 2, counts, sizes, fragmentSize });
  return pages;
}
