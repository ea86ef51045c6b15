/**
 * Splicing sorted lines (status-pages.ts): a page's rows, or a JSON
 * fragment's, are one line per package sorted by name, so the lines of a
 * few changed packages are found by binary search in the file the last
 * render wrote (read a window at a time, not whole) and replaced, removed
 * or put in; the rest is copied as it was, and the bytes are the ones a
 * full render writes. Anything not as this code wrote it is NotSpliceable.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Why a page cannot be spliced: the suite/arch's pages are rendered from its listing instead. */
export class NotSpliceable extends Error {}

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
export function locate(src: LineSource, key: string, keyOf: (line: Buffer) => string): { at: number; end: number } {
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
 * lines), how many lines it gained (negative: lost), whether it changed, the
 * old lines it removed or replaced (copies), and the keys whose line was
 * already the new one.
 */
export function spliceLines(
  src: LineSource,
  keys: readonly string[],
  lines: ReadonlyMap<string, Uint8Array>,
  keyOf: (line: Buffer) => string,
): { pieces: (Kept | Uint8Array)[]; delta: number; changed: boolean; replaced: Buffer[]; unchanged: string[] } {
  const edits: { key: string; at: number; end: number; line: Uint8Array | undefined }[] = [];
  const replaced: Buffer[] = [];
  const unchanged: string[] = [];
  let delta = 0;
  for (const key of new Set(keys)) {
    const { at, end } = locate(src, key, keyOf);
    const line = lines.get(key);
    if (end === at && line === undefined) continue;
    if (line !== undefined && end > at && src.bytes(at, end).equals(line)) {
      unchanged.push(key);
      continue;
    }
    edits.push({ key, at, end, line });
    if (end > at) replaced.push(Buffer.from(src.bytes(at, end)));
    delta += (line === undefined ? 0 : 1) - (end > at ? 1 : 0);
  }
  if (edits.length === 0) return { pieces: src.length > 0 ? [{ start: 0, end: src.length }] : [], delta: 0, changed: false, replaced, unchanged };
  edits.sort((a, b) => a.at - b.at || compareNames(a.key, b.key));
  const pieces: (Kept | Uint8Array)[] = [];
  let pos = 0;
  for (const e of edits) {
    if (e.at > pos) pieces.push({ start: pos, end: e.at });
    if (e.line) pieces.push(e.line);
    pos = Math.max(pos, e.end);
  }
  if (pos < src.length) pieces.push({ start: pos, end: src.length });
  return { pieces, delta, changed: true, replaced, unchanged };
}

const TBODY = '<tbody>\n';
const TBODY_END = '</tbody>';
export const COMMA_NL = Buffer.from(',\n');

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** Text as escapeHtml (format.ts) wrote it, back: on byte strings. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e);
}

/** The package a status page's line is of: its link's text, as a byte string. */
export function rowKey(bytesOfLine: Buffer): string {
  const line = bytesOfLine.toString('latin1');
  const a = line.indexOf('">');
  const b = line.indexOf('</a>', a);
  if (a < 0 || b < 0) throw new NotSpliceable('a row without its link');
  return unescapeHtml(line.slice(a + 2, b));
}

/** A reproducible.json line (`{...},`), its text as byte strings; NotSpliceable if it has no package. */
export function jsonRowOf(line: Buffer): { package: string; status?: unknown } {
  let v: { package?: unknown; status?: unknown };
  try {
    v = JSON.parse(line.toString('latin1', 0, line.length - 1)) as { package?: unknown };
  } catch {
    throw new NotSpliceable('a JSON row that does not parse');
  }
  if (typeof v.package !== 'string') throw new NotSpliceable('a JSON row without its package');
  return v as { package: string; status?: unknown };
}

/** The package a reproducible.json line (`{...},`) is of, as a byte string. */
export function jsonKey(line: Buffer): string {
  return jsonRowOf(line).package;
}

/**
 * Splice a reproducible.json fragment: rows joined by ',\n'. `src` is the
 * fragment (`size` bytes) followed by a ',\n' it does not have, so that every
 * row is a line ending in ',\n'; the result drops the last row's again.
 * Pieces are new rows and parts of the fragment file (never of the suffix).
 * `keyOf`: a row's key (reproducible-tracker.json's rows are `"name": {...}`).
 */
export function spliceFragment(
  src: LineSource,
  size: number,
  keys: readonly string[],
  lines: ReadonlyMap<string, Uint8Array>,
  keyOf: (line: Buffer) => string = jsonKey,
): { pieces: (Kept | Uint8Array)[]; changed: boolean } {
  const spliced = spliceLines(src, keys, lines, keyOf);
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
export function bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** An open file of the last render, of the size it was written with. */
export function openAsWritten(file: string, size: number | undefined): number {
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

/** The bytes of a file from `at` (negative: from its end), `len` of them at most. */
function readAt(fd: number, size: number, at: number, len: number): { buf: Buffer; start: number } {
  const n = Math.min(size, len);
  const start = at < 0 ? size - n : at;
  const buf = Buffer.allocUnsafe(n);
  readSync(fd, buf, 0, n, start);
  return { buf, start };
}

/**
 * Where a status page's rows are: between `<tbody>` and `</tbody>` (none in a page without a
 * table). Both are near their ends of the page: a few kilobytes are read, more only if not found.
 */
export function rowsRegion(fd: number, size: number): { start: number; end: number } {
  let t = -1;
  for (const len of [8192, 65_536]) {
    t = readAt(fd, size, 0, len).buf.indexOf(TBODY);
    if (t >= 0 || len >= size) break;
  }
  if (t < 0) return { start: 0, end: 0 };
  for (const len of [8192, 65_536]) {
    const { buf, start } = readAt(fd, size, -1, len);
    const e = buf.lastIndexOf(TBODY_END);
    if (e >= 0) return { start: t + TBODY.length, end: start + e };
    if (len >= size) break;
  }
  throw new NotSpliceable('a table without its end');
}
