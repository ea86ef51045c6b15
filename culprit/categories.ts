/**
 * Kinds of difference, named as the reproducible-builds notes name them (the
 * one table, CATEGORIES, says which variation each points at), and how a line
 * is read for them: the scan for the builds' needles (culprit/renderings.ts)
 * and the reading of archive listings (tar, ar, cpio and zip member lines as
 * diffoscope prints them), whose mode, owner, time and order columns are
 * kinds of difference of their own. Pure; every text here is hostile: needles
 * are escaped into one regular expression per side, lines are bounded.
 */
import { bySide, type Needle, type NeedleKind, type PairToken, type Renderings, type Side } from './renderings.js';

/** Each kind of difference and the variation it points at. The names are shown on pages and counted: keep them stable. */
export const CATEGORIES = {
  'timestamps-in-gzip-headers': 'DATE',
  /** member times in tar, ar, cpio and zip listings */
  'timestamps-in-archives': 'DATE',
  /** a date or an epoch of the build inside a file */
  'embedded-date': 'DATE',
  'time-zone': 'TZ',
  /** archive members, or a file's lines, in another order */
  'file-order': 'FILEORDERING',
  'file-permissions': 'UMASK',
  /** owner names and uid/gid of archive members */
  'users-in-archives': 'BUILD_USER',
  /** the build user's name or GECOS inside a file */
  'build-user': 'BUILD_USER',
  'build-path': 'BUILD_PATH',
  'host-name': 'HOSTNAME',
  'domain-name': 'DOMAINNAME',
  /** LANG, LC_ALL or LANGUAGE values (the hint names which) */
  locale: 'LANG',
  'kernel-version': 'KERNEL_PERSONALITY',
  'parallel-jobs': 'PARALLEL',
  'home-directory': 'HOME',
  /** captured environment variables: CAPTURE_ENVIRONMENT, TERM, COLUMNS, PATH, DEB_BUILD_OPTIONS (the hint names which) */
  environment: 'CAPTURE_ENVIRONMENT',
} as const satisfies Record<string, string>;

export type Category = keyof typeof CATEGORIES;

/** A needle found in a text. */
export interface Found {
  variations: readonly string[];
  category: string | null;
  kind?: NeedleKind;
  index: number;
  length: number;
}

const MAX_EVIDENCE = 300;
const MAX_MATCHES_PER_TEXT = 10_000;

/** The line as evidence: trimmed, and around the hit when it is long (raw text: the site escapes it). */
export function evidence(line: string, index = 0, length = 0): string {
  if (line.length <= MAX_EVIDENCE) return line.trim();
  const from = Math.max(0, index - 120);
  const to = Math.min(line.length, Math.max(index + length + 120, from + MAX_EVIDENCE - 2));
  return `${from > 0 ? '…' : ''}${line.slice(from, Math.min(to, from + MAX_EVIDENCE - 2)).trim()}${to < line.length ? '…' : ''}`;
}

const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** A needle that starts or ends with a letter or digit must not touch another one ("-j4" is not in "-j40"). */
function bounded(text: string, i: number, len: number): boolean {
  const first = text.charCodeAt(i);
  const last = text.charCodeAt(i + len - 1);
  if (isAlnum(first) && i > 0 && isAlnum(text.charCodeAt(i - 1))) return false;
  return !(isAlnum(last) && i + len < text.length && isAlnum(text.charCodeAt(i + len)));
}

/** Right after a time of day ("11:06:30 +1400", "T11:06:30.123+14:00"). */
function followsTime(text: string, i: number): boolean {
  return /\d\d:\d\d(?::\d\d)?(?:\.\d{1,9})? ?$/.test(text.slice(Math.max(0, i - 22), i));
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** Finds a comparison's needles in lines: one regular expression per side, the needles escaped, longest first. */
export class Matcher {
  private readonly re: [RegExp | null, RegExp | null];
  private readonly byText: [Map<string, Needle>, Map<string, Needle>] = [new Map<string, Needle>(), new Map<string, Needle>()];
  private readonly epochRe = /(?<![0-9])[0-9]{10}(?![0-9])/g;
  /** the digits every epoch of a side's window starts with: a line without them holds none (most lines) */
  private readonly epochPrefix: [string | null, string | null];

  constructor(readonly r: Renderings) {
    for (const n of r.needles) bySide(this.byText, n.side).set(n.text, n);
    const compile = (m: Map<string, Needle>): RegExp | null =>
      m.size === 0
        ? null
        : new RegExp(
            [...m.keys()]
              .sort((a, b) => b.length - a.length)
              .map(escapeRe)
              .join('|'),
            'g',
          );
    this.re = [compile(this.byText[0]), compile(this.byText[1])];
    this.epochPrefix = [commonPrefix(r.epochs.w1), commonPrefix(r.epochs.w2)];
  }

  /** Side's needles in text: each text once, at most `max`. */
  find(text: string, side: Side, max = 8): Found[] {
    const re = bySide(this.re, side);
    if (!re) return [];
    const out: Found[] = [];
    const seen = new Set<string>();
    re.lastIndex = 0;
    for (let m = re.exec(text), n = 0; m !== null && out.length < max && n < MAX_MATCHES_PER_TEXT; m = re.exec(text), n++) {
      re.lastIndex = m.index + 1;
      const needle = bySide(this.byText, side).get(m[0])!;
      if (seen.has(m[0]) || !bounded(text, m.index, m[0].length) || (needle.afterTime && !followsTime(text, m.index))) continue;
      seen.add(m[0]);
      out.push({ ...found(needle, m.index), variations: resolve(needle.variations, text, m.index) });
    }
    return out;
  }

  /** Epoch seconds inside this side's window and not the other's. */
  epochs(text: string, side: Side, max = 4): Found[] {
    const { w1, w2, variations } = this.r.epochs;
    const [mine, theirs] = side === 1 ? [w1, w2] : [w2, w1];
    const prefix = bySide(this.epochPrefix, side);
    if (!mine || (prefix !== null && !text.includes(prefix))) return [];
    const out: Found[] = [];
    this.epochRe.lastIndex = 0;
    for (let m = this.epochRe.exec(text), n = 0; m !== null && out.length < max && n < MAX_MATCHES_PER_TEXT; m = this.epochRe.exec(text), n++) {
      const t = Number(m[0]);
      const inside = (w: { from: number; to: number } | null): boolean => w !== null && t >= w.from && t <= w.to;
      if (inside(mine) && !inside(theirs)) out.push({ variations, category: 'embedded-date', kind: 'date', index: m.index, length: 10 });
    }
    return out;
  }

  /** The pair tokens (indexes into r.pairs) whose side's half is in text, as whole words. */
  pairs(text: string, side: Side): number[] {
    const out: number[] = [];
    this.r.pairs.forEach((p: PairToken, k) => {
      if ((side === 1 ? p.a : p.b).some((t) => indexOfWord(text, t) >= 0)) out.push(k);
    });
    return out;
  }
}

/** The leading digits two 10-digit epochs share, when there are a few. */
function commonPrefix(w: { from: number; to: number } | null): string | null {
  if (!w) return null;
  const [a, b] = [String(w.from), String(w.to)];
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.length === 10 && b.length === 10 && i >= 3 ? a.slice(0, i) : null;
}

function found(n: Needle, index: number): Found {
  return { variations: n.variations, category: n.category, ...(n.kind ? { kind: n.kind } : {}), index, length: n.text.length };
}

/** A value several variations share names the one assigned right before it (LC_ALL=et_EE.UTF-8), else all of them. */
function resolve(variations: readonly string[], text: string, i: number): readonly string[] {
  if (variations.length < 2) return variations;
  const before = text.slice(Math.max(0, i - 24), i).replace(/["']$/, '');
  const named = variations.filter((v) => before.endsWith(`${v}=`));
  return named.length === 1 ? named : variations;
}

/** Where a token stands on its own (no letter or digit either side: 0x2026 is no year), or -1. */
export function indexOfWord(text: string, n: string): number {
  for (let i = text.indexOf(n); i >= 0; i = text.indexOf(n, i + 1)) if (bounded(text, i, n.length)) return i;
  return -1;
}

/** Where a `uname -r` of the 2.6 personality stands ("2.6.61", "2.6.61-18-amd64"), or -1. */
export function kernel26(text: string): number {
  const m = /(?<![0-9.])2\.6\.[0-9]{2,3}(?![0-9])/.exec(text);
  return m ? m.index : -1;
}

/** A member's time in `zipinfo -v` ("file last modified on (DOS date/time): 2026 Dec 3 04:43:00"). */
export function zipVerboseTime(text: string): boolean {
  return text.includes('file last modified on (');
}

/** The modification time in file(1)'s line for a gzip file, or null. */
export function gzipModified(text: string): string | null {
  if (!text.includes('gzip compressed data')) return null;
  return /, last modified: ([^,]{1,40})/.exec(text)?.[1] ?? null;
}

// ---------------------------------------------------------------- archive listings

/** A member line of an archive listing. */
export interface ListingEntry {
  mode: string;
  owner: string;
  size: string;
  mtime: string;
  name: string;
}

const MAX_LISTING_LINE = 4096;
// libarchive's listing (tar, ar, cpio): mode, links, owner and group (names with ids, or ids), size, time, name
const LIBARCHIVE_RE = /^([-a-z?][-rwxsStT]{9})\s+\d+\s+(.*?)\s+(-|\d+|\d+,\s*\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)$/;
// zipinfo: mode, version, system, size, attributes, method, yy-Mon-dd hh:mm, name
const ZIPINFO_RE = /^([-a-z?][-rwxsStT]{9})\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(\d\d-[A-Za-z]{3}-\d\d \d\d:\d\d) (.*)$/;

/** A listing line's columns, or null when it is no member line. */
export function parseListingLine(line: string): ListingEntry | null {
  if (line.length > MAX_LISTING_LINE) return null;
  const t = LIBARCHIVE_RE.exec(line);
  if (t) return { mode: t[1]!, owner: t[2]!.replace(/\s+/g, ' '), size: t[3]!, mtime: t[4]!, name: t[5]! };
  const z = ZIPINFO_RE.exec(line);
  return z ? { mode: z[1]!, owner: '', size: z[2]!, mtime: z[3]!, name: z[4]! } : null;
}

/** A member's name without a symlink's target. */
export function memberName(e: ListingEntry): string {
  const arrow = e.name.indexOf(' -> ');
  return arrow >= 0 && e.mode.startsWith('l') ? e.name.slice(0, arrow) : e.name;
}

/** A kind of difference in one member, or in the order of all. */
export interface ListingFinding {
  /** null: the member's type changed (a file became a symlink) */
  category: Category | null;
  /** the member's name; '' for the order of the archive as a whole */
  name: string;
  evidence: string;
}

export interface ListedMember {
  e: ListingEntry;
  line: string;
}

export interface ListingResult {
  findings: ListingFinding[];
  /** members both builds list, with a column other than the size differing: the columns to scan for needles */
  changed: Array<{ name: string; a: ListedMember; b: ListedMember }>;
  /** members one build lists only */
  only: Array<{ name: string; side: Side; m: ListedMember }>;
}

const MAX_ENTRIES = 200_000;

/** One listing's removed, added and context lines, compared when it ends. */
export class Listing {
  private readonly removed = new Map<string, ListedMember>();
  private readonly added = new Map<string, ListedMember>();
  private readonly seq: [string[], string[]] = [[], []];

  /** side 0: a context line, in both builds */
  add(side: 0 | Side, e: ListingEntry, line: string): void {
    const name = memberName(e);
    if (this.seq[1].length >= MAX_ENTRIES) return;
    if (side !== 2) this.seq[0].push(name);
    if (side !== 1) this.seq[1].push(name);
    if (side === 1 && !this.removed.has(name)) this.removed.set(name, { e, line });
    if (side === 2 && !this.added.has(name)) this.added.set(name, { e, line });
  }

  /** What differs: per member, its type, mode, owner or time; the members one build has; the order. */
  finish(): ListingResult {
    const r: ListingResult = { findings: [], changed: [], only: [] };
    for (const [name, a] of this.removed) {
      const b = this.added.get(name);
      if (!b) r.only.push({ name, side: 1, m: a });
      else if (a.e.mode !== b.e.mode || a.e.owner !== b.e.owner || a.e.mtime !== b.e.mtime || a.e.name !== b.e.name) {
        r.findings.push(...memberFindings(name, a.e, b.e, b.line));
        r.changed.push({ name, a, b });
      }
    }
    for (const [name, b] of this.added) if (!this.removed.has(name)) r.only.push({ name, side: 2, m: b });
    const order = this.orderFinding();
    if (order) r.findings.push(order);
    return r;
  }

  /** The members both builds list, in another order. */
  private orderFinding(): ListingFinding | null {
    const [one, two] = [new Set(this.seq[0]), new Set(this.seq[1])];
    const f1 = this.seq[0].filter((n) => two.has(n));
    const f2 = this.seq[1].filter((n) => one.has(n));
    const k = f1.findIndex((n, i) => n !== f2[i]);
    if (k < 0) return null;
    const moved = f2[k]!;
    return { category: 'file-order', name: '', evidence: evidence(this.added.get(moved)?.line ?? `  ${moved}`) };
  }
}

/** A member both builds have: which of its columns differ (its size alone is its content's business). */
function memberFindings(name: string, a: ListingEntry, b: ListingEntry, line: string): ListingFinding[] {
  if (a.mode[0] !== b.mode[0]) return [{ category: null, name, evidence: evidence(line) }];
  const out: ListingFinding[] = [];
  if (a.mode !== b.mode) out.push({ category: 'file-permissions', name, evidence: evidence(line) });
  if (a.owner !== b.owner) out.push({ category: 'users-in-archives', name, evidence: evidence(line) });
  if (a.mtime !== b.mtime) out.push({ category: 'timestamps-in-archives', name, evidence: evidence(line) });
  return out;
}

// ---------------------------------------------------------------- the report

export interface Hint {
  variation: string;
  category: string | null;
  /** the file inside the package: PACKAGE.deb/usr/share/doc/x/y.txt, PACKAGE.deb/DEBIAN/control, a jar's member after the jar */
  file: string;
  /** the diff line, trimmed and cut to ~300 characters (raw text: the site escapes it) */
  evidence: string;
}

export interface HintReport {
  source: 'diffoscope' | 'packages';
  /** bounded: at most a few per variation and file, ~50 overall (each variation found keeps one at least) */
  hints: Hint[];
  /** kinds of difference seen (category -> the variation it points at, from CATEGORIES; null when that variation did not vary), with evidence, also when no needle matched */
  categories: Array<{ category: string; variation: string | null; file: string; evidence: string }>;
  /** the files inside the packages that differ, and those no hint or category with a variation explains (an archive whose members differ is explained by them: its sizes, checksums and offsets follow from theirs) */
  differingFiles: string[];
  unexplained: string[];
}

const MAX_HINTS = 50;
const MAX_HINTS_PER_FILE = 3;
const MAX_HINTS_PER_VARIATION = 10;
const MAX_CATEGORIES = 50;
const MAX_PER_CATEGORY = 10;
const MAX_FILES = 500;

/** Gathers hints and kinds of difference, bounded, and which differing files they explain. */
export class Collector {
  private readonly hints: Hint[] = [];
  private readonly categories: HintReport['categories'] = [];
  private readonly counts = new Map<string, number>();
  private readonly files = new Set<string>();
  private readonly explained = new Set<string>();

  constructor(private readonly varied: (key: string) => boolean) {}

  differs(file: string): void {
    this.files.add(file);
  }

  /** A needle found: a hint per variation it names, and its kind; with no variation, the kind only. `kindOf` renames the kind (a date in an archive listing is a member time). */
  found(f: Found, file: string, ev: string, kindOf?: (f: Found) => string | null): void {
    this.differs(file);
    const category = kindOf?.(f) ?? f.category;
    if (f.variations.length === 0) {
      if (category) this.category(category, file, ev, null);
      return;
    }
    for (const variation of f.variations) {
      this.hint({ variation, category, file, evidence: ev });
      if (category) this.category(category, file, ev, variation);
    }
  }

  /** A kind of difference; its variation is the table's (null when it did not vary) unless a hint gives its own. */
  category(category: string, file: string, ev: string, variation?: string | null): void {
    this.differs(file);
    const table = (CATEGORIES as Record<string, string | undefined>)[category];
    const v = variation !== undefined ? variation : table && this.varied(table) ? table : null;
    if (v) this.explained.add(file);
    const key = `c\u0000${category}\u0000${file}\u0000${v}`;
    const n = this.counts.get(`c\u0000${category}\u0000${v}`) ?? 0;
    if (this.counts.has(key) || (n > 0 && (n >= MAX_PER_CATEGORY || this.categories.length >= MAX_CATEGORIES))) return;
    this.counts.set(key, 1).set(`c\u0000${category}\u0000${v}`, n + 1);
    this.categories.push({ category, variation: v, file, evidence: ev });
  }

  private hint(h: Hint): void {
    this.explained.add(h.file);
    const key = `h\u0000${h.variation}\u0000${h.file}`;
    const n = this.counts.get(key) ?? 0;
    const perVariation = this.counts.get(`h\u0000${h.variation}`) ?? 0;
    // the first hint of each variation always stays, so that the report names every variation found
    if (perVariation > 0 && (n >= MAX_HINTS_PER_FILE || perVariation >= MAX_HINTS_PER_VARIATION || this.hints.length >= MAX_HINTS)) return;
    if (this.hints.some((x) => x.variation === h.variation && x.file === h.file && x.evidence === h.evidence)) return;
    this.counts.set(key, n + 1).set(`h\u0000${h.variation}`, perVariation + 1);
    this.hints.push(h);
  }

  report(source: HintReport['source']): HintReport {
    const all = [...this.files];
    const containers = new Set<string>();
    for (const f of all) for (let i = f.indexOf('/'); i > 0; i = f.indexOf('/', i + 1)) if (i < f.length - 1) containers.add(f.slice(0, i));
    const unexplained = all.filter((f) => !this.explained.has(f) && !containers.has(f.replace(/\/$/, '')));
    return { source, hints: this.hints, categories: this.categories, differingFiles: all.slice(0, MAX_FILES), unexplained: unexplained.slice(0, MAX_FILES) };
  }
}

/**
 * Two builds' versions of one short text (an archive member's owner, time or
 * symlink target): each side's needles that the other side's text lacks, and
 * the pair tokens (a uid) with one half on each side. Evidence: each side's line.
 */
export function scanPair(
  m: Matcher,
  c: Collector,
  file: string,
  texts: readonly [string, string],
  lines: readonly [string, string],
  kindOf?: (f: Found) => string | null,
): void {
  for (const side of [1, 2] as const) {
    const [mine, theirs] = side === 1 ? texts : [texts[1], texts[0]];
    for (const f of m.find(mine, side)) {
      if (!theirs.includes(mine.slice(f.index, f.index + f.length))) c.found(f, file, evidence(bySide(lines, side)), kindOf);
    }
  }
  const ones = new Set(m.pairs(texts[0], 1));
  for (const k of m.pairs(texts[1], 2).filter((k) => ones.has(k))) {
    const p = m.r.pairs[k]!;
    const f: Found = { variations: p.variations, category: p.category, kind: p.kind, index: 0, length: 0 };
    for (const line of lines) c.found(f, file, evidence(line), kindOf);
  }
}
