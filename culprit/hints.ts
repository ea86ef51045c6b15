/**
 * Hints, at no extra build (issue 18, point 1): which variation made two
 * builds differ, read from diffoscope's text report or, when diffoscope
 * failed or timed out, from the two builds' packages. Each hit names a
 * variation with its evidence: the file inside the package and the line. The
 * needles are the builds' recorded values in their usual renderings
 * (culprit/renderings.ts); the kinds of difference, the scan and the bounded
 * report are in culprit/categories.ts; from the packages themselves in
 * culprit/package-hints.ts.
 *
 * A report is read in one pass over its lines. diffoscope indents each line
 * of a section at depth d with d "│ ", then a diff line starts with its
 * marker (" ", "-", "+", "@"); a section header is "├── NAME" one level up.
 * So a file's content cannot pass for a header: after the section's own
 * prefix comes its marker. Only sections inside a .deb/.udeb/.ddeb count: a
 * .changes' own fields and the .buildinfo always differ.
 */
import { basename } from 'node:path';
import {
  Collector,
  evidence,
  gzipModified,
  kernel26,
  Listing,
  Matcher,
  parseListingLine,
  scanPair,
  zipVerboseTime,
  type Found,
  type HintReport,
} from './categories.js';
import { bySide, renderings, type BuildFacts, type Renderings, type Side } from './renderings.js';

export { CATEGORIES, type Category, type Hint, type HintReport } from './categories.js';
export type { BuildFacts } from './renderings.js';

/** The culprits the hints settle on their own (sorted variation keys), or null when a search is needed: settled when there is at least one hit (a hint, or a kind of difference whose variation varied) and every differing file is explained. */
export function settledCulprits(r: HintReport): string[] | null {
  const named = new Set([...r.hints.map((h) => h.variation), ...r.categories.flatMap((c) => (c.variation ? [c.variation] : []))]);
  if (named.size === 0 || r.differingFiles.length === 0 || r.unexplained.length > 0) return null;
  return [...named].sort();
}

/** A kind found in an archive listing's line is the listing's own: a date there is a member's time, a user its owner. */
export const listingKind = (f: Found): string | null => (f.kind === 'date' ? 'timestamps-in-archives' : f.kind === 'user' ? 'users-in-archives' : null);

/** Lines of DEBIAN/control that differ whenever the files do: not a difference of their own. */
const CONTROL_CONSEQUENCES = /^(Installed-Size|Build-Ids):/;

/** The side whose `uname -r` the 2.6 personality rewrote, when only one build had it. */
export function kernelSide(b1: BuildFacts, b2: BuildFacts, r: Renderings): Side | null {
  const has = (b: BuildFacts): boolean => (b.variations.KERNEL_PERSONALITY ?? '').includes('--uname-2.6');
  if (!r.varied('KERNEL_PERSONALITY') || has(b1) === has(b2)) return null;
  return has(b1) ? 1 : 2;
}

// ---------------------------------------------------------------- diffoscope's report

type Kind = 'root' | 'package' | 'layer' | 'member' | 'detail' | 'listing' | 'ignored';

interface Section {
  depth: number;
  kind: Kind;
  /** the file inside the package the section is about; null outside packages */
  path: string | null;
  name: string;
  parent: Section | null;
  listing?: Listing;
}

const PACKAGE_RE = /\.(deb|udeb|ddeb)$/;
export const MAX_NAME = 300;
// diffoscope's section names that are views of a file, not members of it (those with a space and no "/" are too: "file list", "readelf --wide ... {}")
const DETAILS = new Set(['encoding', 'md5sums', 'metadata', 'header', 'Files', 'lsattr', 'filesystem', 'Pretty-printed', 'objdump', 'docx2txt', 'dumpxsb']);
for (const d of ['ffprobe', 'gifbuild', 'kbxutil', 'ocamlobjinfo', 'odt2txt', 'oggDump', 'pgpdump', 'sng', 'ssconvert', 'tcpdump']) DETAILS.add(d);
const COMPRESSED = ['.gz', '.xz', '.bz2', '.zst', '.zstd', '.lz', '.lzma', '.lz4', '.Z', '.br'];

function isDetail(name: string): boolean {
  return name.includes('{}') || DETAILS.has(name) || (/\s/.test(name) && !name.includes('/'));
}

/** What diffoscope shows under a compressed file: its content, named without the suffix (.tgz as .tar), or NAME-content. */
function isContentOf(parent: string, name: string): boolean {
  const base = parent.slice(parent.lastIndexOf('/') + 1);
  if (name === `${base}-content` || (base.endsWith('.tgz') && name === `${base.slice(0, -4)}.tar`)) return true;
  return COMPRESSED.some((ext) => base.endsWith(ext) && name === base.slice(0, -ext.length));
}

/** Where member `name` of an archive section is in the package: data.tar and compression are no level, control.tar is DEBIAN. */
function memberPath(archive: Section, name: string): { kind: Kind; path: string } {
  const base = archive.path ?? '';
  if (archive.kind === 'package' && /^data\.tar(\.\w+)?$/.test(name)) return { kind: 'layer', path: base };
  if (archive.kind === 'package' && /^control\.tar(\.\w+)?$/.test(name)) return { kind: 'layer', path: `${base}/DEBIAN` };
  if (isContentOf(archive.name, name)) return { kind: 'layer', path: base };
  const clean = name.replace(/^(\.\/|\/)+/, '');
  return { kind: 'member', path: clean === '' || clean === '.' ? base : `${base}/${clean}` };
}

function childSection(parent: Section, header: string, depth: number): Section {
  const name = (header.startsWith('+++ ') ? header.slice(4) : header).slice(0, MAX_NAME);
  const s = (kind: Kind, path: string | null): Section => ({ depth, kind, path, name, parent, ...(kind === 'listing' ? { listing: new Listing() } : {}) });
  if (parent.path === null) return PACKAGE_RE.test(name) ? s('package', basename(name)) : s('ignored', null);
  if (isDetail(name)) return s(name === 'file list' || name === 'zipinfo {}' ? 'listing' : 'detail', parent.path);
  const m = memberPath(parent, name);
  // md5sums change whenever the files do
  return m.path.endsWith('/DEBIAN/md5sums') ? s('ignored', null) : s(m.kind, m.path);
}

/** The ASCII column of an xxd line (diffoscope's view of binary files), or null. */
function hexAscii(body: string): string | null {
  return body.length > 51 && body.charCodeAt(8) === 58 && /^[0-9a-f]{8}: [0-9a-f ]{39} {2}$/.test(body.slice(0, 51)) ? body.slice(51) : null;
}

interface PairHit {
  file: string;
  ev: string;
}

/** One pass over a report: the sections' stack, the current hunk's pair tokens and gzip times, and a run of hexdump lines. */
class ReportScan {
  readonly c: Collector;
  private readonly m: Matcher;
  private readonly kernelSide: Side | null;
  private readonly stack: Section[] = [];
  private rootName: string | null = null;
  private pairs = new Map<number, [PairHit[], PairHit[]]>();
  private gzip: { times: [Set<string>, Set<string>]; first: PairHit | null } = { times: [new Set(), new Set()], first: null };
  private hex: { side: Side; file: string; text: string } | null = null;

  constructor(b1: BuildFacts, b2: BuildFacts) {
    const r = renderings(b1, b2);
    this.m = new Matcher(r);
    this.c = new Collector(r.varied);
    this.kernelSide = kernelSide(b1, b2, r);
  }

  run(text: string): void {
    for (let p = 0; p < text.length;) {
      let e = text.indexOf('\n', p);
      if (e < 0) e = text.length;
      this.line(text.slice(p, e));
      p = e + 1;
    }
    this.endHunk();
    this.popTo(0);
  }

  private line(l: string): void {
    let i = 0;
    while (l.charCodeAt(i) === 0x2502 && l.charCodeAt(i + 1) === 0x20) i += 2;
    const rest = i === 0 ? l : l.slice(i);
    const top = this.stack.at(-1);
    if (!top) return this.rootLine(l);
    if (rest.startsWith('├── ')) return this.header(i / 2 + 1, rest.slice(4));
    if (rest.startsWith('│┄ ')) {
      if (top.path !== null && rest === '│┄ Ordering differences only') this.c.category('file-order', top.path, rest.slice(3));
      return;
    }
    if (i / 2 === top.depth && top.path !== null) this.diffLine(top, rest);
  }

  /** "--- FILE1" and "+++ FILE2": the root, a package itself unless a .changes (or .buildinfo) holds the packages. */
  private rootLine(l: string): void {
    if (this.rootName === null && l.startsWith('--- ')) this.rootName = basename(l.slice(4)).slice(0, MAX_NAME);
    else if (this.rootName !== null && l.startsWith('+++ ')) {
      const outside = /\.(changes|buildinfo|dsc)$/.test(this.rootName);
      this.stack.push({ depth: 0, kind: outside ? 'root' : 'package', path: outside ? null : this.rootName, name: this.rootName, parent: null });
    }
  }

  private header(depth: number, name: string): void {
    this.endHunk();
    this.popTo(depth);
    const parent = this.stack.at(-1);
    if (parent) this.stack.push(childSection(parent, name, depth));
  }

  private popTo(depth: number): void {
    for (let s = this.stack.at(-1); s && s.depth >= depth; s = this.stack.at(-1)) {
      this.stack.pop();
      if (s.listing && s.parent && s.path !== null) this.endListing(s, s.parent);
    }
  }

  /** A listing ends: its kinds of difference; the columns that differ scanned for needles (a date where the time differs, a user where the owner does). */
  private endListing(s: Section, archive: Section): void {
    const r = s.listing!.finish();
    // the package's own members (debian-binary, control.tar.xz, data.tar.xz) are the package
    const fileOf = (name: string): string => (archive.kind === 'package' ? archive.path! : memberPath(archive, name).path);
    for (const f of r.findings) {
      const file = f.name ? fileOf(f.name) : s.path!;
      if (f.category) this.c.category(f.category, file, f.evidence);
      else this.c.differs(file);
    }
    for (const { name, a, b } of r.changed) {
      const file = fileOf(name);
      const lines = [a.line, b.line] as const;
      if (a.e.owner !== b.e.owner) scanPair(this.m, this.c, file, [a.e.owner, b.e.owner], lines, listingKind);
      if (a.e.mtime !== b.e.mtime) scanPair(this.m, this.c, file, [a.e.mtime, b.e.mtime], lines, listingKind);
      if (a.e.name !== b.e.name) scanPair(this.m, this.c, file, [a.e.name, b.e.name], lines);
    }
    for (const { name, side, m } of r.only) {
      const file = fileOf(name);
      // a debug file's name is its build id: another name whenever the binary differs
      if (file.includes('/.build-id/')) continue;
      this.c.differs(file);
      for (const f of this.m.find(m.e.name, side)) this.c.found(f, file, evidence(m.line));
    }
  }

  private diffLine(top: Section, rest: string): void {
    const marker = rest.charCodeAt(0);
    if (marker === 0x40 /* @ */) return this.endHunk();
    if (marker === 0x20) {
      this.endHex();
      const e = top.listing && parseListingLine(rest.slice(1));
      if (e) top.listing!.add(0, e, rest);
      return;
    }
    if (marker !== 0x2d && marker !== 0x2b) return;
    const side: Side = marker === 0x2d ? 1 : 2;
    const body = rest.slice(1);
    const path = top.path!;
    if (top.listing) {
      const e = parseListingLine(body);
      // a listing's other lines (sizes, counts) follow from its members: only what they name counts
      return e ? top.listing.add(side, e, rest) : this.textLine(path, side, body, rest);
    }
    if (path.endsWith('/DEBIAN/control') && CONTROL_CONSEQUENCES.test(body)) return;
    this.c.differs(path);
    const ascii = hexAscii(body);
    if (ascii !== null) return this.hexLine(path, side, ascii);
    this.endHex();
    this.textLine(path, side, body, rest);
  }

  private textLine(file: string, side: Side, body: string, line: string): void {
    for (const f of [...this.m.find(body, side), ...this.m.epochs(body, side)]) this.c.found(f, file, evidence(line, f.index + 1, f.length));
    for (const k of this.m.pairs(body, side)) {
      const hits = this.pairs.get(k) ?? [[], []];
      if (bySide(hits, side).length < 3) bySide(hits, side).push({ file, ev: evidence(line) });
      this.pairs.set(k, hits);
    }
    const modified = gzipModified(body);
    if (modified) {
      bySide(this.gzip.times, side).add(modified);
      this.gzip.first ??= { file, ev: evidence(line) };
    }
    const k = this.kernelSide === side ? kernel26(body) : -1;
    if (k >= 0) this.c.category('kernel-version', file, evidence(line, k + 1, 6));
    if (zipVerboseTime(body)) this.c.category('timestamps-in-archives', file, evidence(line));
  }

  /** A hunk ends: a year or uid counts with its counterpart in it; gzip headers whose times differ. */
  private endHunk(): void {
    this.endHex();
    for (const [k, [ones, twos]] of this.pairs) {
      const p = this.m.r.pairs[k]!;
      if (ones.length === 0 || twos.length === 0) continue;
      const f: Found = { variations: p.variations, category: p.category, kind: p.kind, index: 0, length: 0 };
      for (const h of [...ones, ...twos]) this.c.found(f, h.file, h.ev);
    }
    const {
      times: [t1, t2],
      first,
    } = this.gzip;
    if (first && t1.size > 0 && t2.size > 0 && [...t2].some((t) => !t1.has(t))) this.c.category('timestamps-in-gzip-headers', first.file, first.ev);
    this.pairs = new Map();
    this.gzip = { times: [new Set(), new Set()], first: null };
  }

  /** Binary files show as xxd lines of 16 characters: a run of them is scanned as one text, so that a path across lines is found. */
  private hexLine(file: string, side: Side, ascii: string): void {
    if (this.hex && (this.hex.side !== side || this.hex.file !== file)) this.endHex();
    this.hex ??= { side, file, text: '' };
    this.hex.text += ascii;
    if (this.hex.text.length > 65_536) {
      const carry = this.hex.text.slice(-256);
      this.endHex();
      this.hex = { side, file, text: carry };
    }
  }

  private endHex(): void {
    const h = this.hex;
    if (!h) return;
    this.hex = null;
    const line = `${h.side === 1 ? '-' : '+'}${h.text}`;
    for (const f of this.m.find(h.text, h.side)) this.c.found(f, h.file, evidence(line, f.index + 1, f.length));
  }
}

/** Hints from diffoscope's text report of the two builds (its .changes or .debs). */
export function hintsFromDiffoscope(text: string, b1: BuildFacts, b2: BuildFacts): HintReport {
  const scan = new ReportScan(b1, b2);
  scan.run(text);
  return scan.c.report('diffoscope');
}
