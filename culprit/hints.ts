/**
 * Hints, at no extra build (issue 18, point 1): which variation made two
 * builds differ, read from diffoscope's text report or, when diffoscope
 * failed or timed out, from the two builds' packages. Each hit names a
 * variation with its evidence: the file inside the package and the line. The
 * needles are the builds' recorded values in their usual renderings
 * (culprit/renderings.ts); the kinds of difference, the scan and the bounded
 * report are in culprit/categories.ts.
 *
 * A report is read in one pass over its lines. diffoscope indents each line
 * of a section at depth d with d "│ ", then a diff line starts with its
 * marker (" ", "-", "+", "@"); a section header is "├── NAME" one level up.
 * So a file's content cannot pass for a header: after the section's own
 * prefix comes its marker. Only sections inside a .deb/.udeb/.ddeb count: a
 * .changes' own fields and the .buildinfo always differ.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
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
const listingKind = (f: Found): string | null => (f.kind === 'date' ? 'timestamps-in-archives' : f.kind === 'user' ? 'users-in-archives' : null);

/** Lines of DEBIAN/control that differ whenever the files do: not a difference of their own. */
const CONTROL_CONSEQUENCES = /^(Installed-Size|Build-Ids):/;

/** The side whose `uname -r` the 2.6 personality rewrote, when only one build had it. */
function kernelSide(b1: BuildFacts, b2: BuildFacts, r: Renderings): Side | null {
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
const MAX_NAME = 300;
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

// ---------------------------------------------------------------- the packages themselves

/** A member of a package's data or control tar. */
interface Member {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  owner: string;
  mtime: number;
  link: string;
  sha: string;
  /** DEBIAN/control's bytes (small), to look past its Installed-Size */
  bytes?: Buffer;
}

interface Sink {
  data(b: Buffer): void;
  end(): void;
}

type Visit = (name: string, m: Omit<Member, 'sha'>, size: number) => Sink | null;

const BLOCK = 512;
const META_MAX = 1 << 20;

/** A tar stream's members as they come (ustar, GNU long names, pax path/linkpath/size); throws on a block that is no tar header. */
class TarReader {
  done = false;
  private head = Buffer.alloc(0);
  private left = 0;
  private pad = 0;
  private sink: Sink | null = null;
  private meta: { type: string; parts: Buffer[]; bytes: number } | null = null;
  private ext: Record<string, string> = {};

  constructor(private readonly visit: Visit) {}

  push(chunk: Buffer): void {
    for (let off = 0; off < chunk.length && !this.done;) {
      if (this.left > 0) {
        const part = chunk.subarray(off, off + Math.min(this.left, chunk.length - off));
        // a long name or pax header is kept up to 1 MiB; beyond, it is read past
        if (this.meta && this.meta.bytes < META_MAX) this.meta.parts.push(part);
        if (this.meta) this.meta.bytes += part.length;
        else this.sink?.data(part);
        this.left -= part.length;
        off += part.length;
        if (this.left === 0) this.endBody();
      } else if (this.pad > 0) {
        const n = Math.min(this.pad, chunk.length - off);
        this.pad -= n;
        off += n;
      } else {
        const n = Math.min(BLOCK - this.head.length, chunk.length - off);
        this.head = Buffer.concat([this.head, chunk.subarray(off, off + n)]);
        off += n;
        if (this.head.length === BLOCK) this.header(this.head);
      }
    }
  }

  private header(h: Buffer): void {
    this.head = Buffer.alloc(0);
    if (h.every((b) => b === 0)) {
      this.done = true;
      return;
    }
    const str = (o: number, n: number): string => {
      const s = h.subarray(o, o + n);
      const z = s.indexOf(0);
      return s.subarray(0, z < 0 ? n : z).toString('utf8');
    };
    const num = (o: number, n: number): number =>
      h[o]! & 0x80 ? h.subarray(o + 1, o + n).reduce((a, b) => a * 256 + b, 0) : parseInt(str(o, n).trim() || '0', 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== num(148, 8)) throw new Error('not a tar archive (a header checksum is wrong)');
    const type = String.fromCharCode(h[156]!);
    const size = this.ext.size !== undefined ? Number(this.ext.size) : num(124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('not a tar archive (a member size is no number)');
    this.left = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ('LKxg'.includes(type)) {
      this.meta = { type, parts: [], bytes: 0 };
    } else {
      const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? str(345, 155) : '';
      const name = this.ext.path ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
      const owner = `${str(265, 32) || num(108, 8)}/${str(297, 32) || num(116, 8)}`;
      const m = {
        type: type === '\0' ? '0' : type,
        mode: num(100, 8) & 0o7777,
        uid: num(108, 8),
        gid: num(116, 8),
        owner,
        mtime: num(136, 12),
        link: this.ext.linkpath ?? str(157, 100),
      };
      this.ext = {};
      this.sink = this.visit(name, m, size);
    }
    if (this.left === 0) this.endBody();
  }

  private endBody(): void {
    const meta = this.meta;
    this.meta = null;
    if (!meta) {
      this.sink?.end();
      this.sink = null;
      return;
    }
    const body = Buffer.concat(meta.parts).subarray(0, META_MAX);
    if (meta.type === 'L') this.ext.path = body.toString('utf8').replace(/\0+$/, '');
    if (meta.type === 'K') this.ext.linkpath = body.toString('utf8').replace(/\0+$/, '');
    // pax records: "LEN key=value\n"
    for (let i = 0; meta.type === 'x' && i < body.length;) {
      const sp = body.indexOf(0x20, i);
      const len = Number(body.subarray(i, sp).toString('latin1'));
      if (sp < 0 || !(len > 0)) break;
      const rec = body.subarray(sp + 1, i + len - 1).toString('utf8');
      const eq = rec.indexOf('=');
      if (['path', 'linkpath', 'size'].includes(rec.slice(0, eq))) this.ext[rec.slice(0, eq)] = rec.slice(eq + 1);
      i += len;
    }
  }
}

/** One of a .deb's tars through dpkg-deb (no shell), each member shown to `visit`. */
async function readDebTar(deb: string, flag: '--fsys-tarfile' | '--ctrl-tarfile', visit: Visit, signal?: AbortSignal): Promise<void> {
  const child = spawn('dpkg-deb', [flag, deb], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  exited.catch(() => undefined);
  const tar = new TarReader(visit);
  try {
    for await (const chunk of child.stdout) {
      tar.push(chunk as Buffer);
      if (tar.done) break;
    }
  } finally {
    child.stdout.destroy();
    if (!tar.done) child.kill('SIGKILL');
  }
  const code = await exited;
  if (!tar.done && code !== 0) throw new Error(`dpkg-deb ${flag} exited with ${code}: ${stderr.trim().slice(-300)}`);
}

interface Inventory {
  members: Map<string, Member>;
  order: string[];
}

const label = (deb: string, name: string, control: boolean): string => {
  const clean = name.replace(/^(\.\/|\/)+/, '').slice(0, MAX_NAME);
  return clean === '' ? deb : control ? `${deb}/DEBIAN/${clean}` : `${deb}/${clean}`;
};

/** A package's members in tar order, each regular file by its SHA-256. */
async function inventory(deb: string, name: string, signal?: AbortSignal): Promise<Inventory> {
  const inv: Inventory = { members: new Map(), order: [] };
  for (const flag of ['--fsys-tarfile', '--ctrl-tarfile'] as const) {
    await readDebTar(
      deb,
      flag,
      (member, m) => {
        const key = label(name, member, flag === '--ctrl-tarfile');
        const full: Member = { ...m, sha: '' };
        inv.members.set(key, full);
        if (flag === '--fsys-tarfile') inv.order.push(key);
        const hash = createHash('sha256');
        // DEBIAN/control is kept (its first 256 chunks) to be compared without Installed-Size
        const keep: Buffer[] | null = key.endsWith('/DEBIAN/control') ? [] : null;
        return {
          data: (b) => {
            hash.update(b);
            if (keep && keep.length < 256) keep.push(b);
          },
          end: () => {
            full.sha = hash.digest('hex');
            if (keep) full.bytes = Buffer.concat(keep);
          },
        };
      },
      signal,
    );
  }
  return inv;
}

/** Members that differ whenever the files do: no difference of their own. */
const consequence = (key: string): boolean => key.includes('/.build-id/') || key.endsWith('/DEBIAN/md5sums');

/** DEBIAN/control without the fields that follow from the files. */
const controlCore = (b: Buffer | undefined): string => (b ?? Buffer.alloc(0)).toString('utf8').replace(/^(Installed-Size|Build-Ids):.*\n?/gm, '');

interface Context {
  m: Matcher;
  c: Collector;
  kernelSide: Side | null;
  maxBytes: number;
  signal?: AbortSignal;
}

/** A member both builds have: its metadata's kinds of difference; true when its content differs (to be scanned). */
function memberDiffers(ctx: Context, key: string, x: Member, y: Member): boolean {
  const shown = (v: Member, mark = '+'): string =>
    `${mark}${v.mode.toString(8).padStart(4, '0')} ${v.owner} (${v.uid}/${v.gid}) @${v.mtime} ${key}${v.link ? ` -> ${v.link}` : ''}`;
  const lines = [shown(x, '-'), shown(y)] as const;
  if (x.type !== y.type) {
    ctx.c.differs(key);
    return false;
  }
  if (x.mode !== y.mode) ctx.c.category('file-permissions', key, shown(y));
  if (x.owner !== y.owner || x.uid !== y.uid || x.gid !== y.gid) {
    ctx.c.category('users-in-archives', key, shown(y));
    scanPair(ctx.m, ctx.c, key, [`${x.owner} (${x.uid}/${x.gid})`, `${y.owner} (${y.uid}/${y.gid})`], lines, listingKind);
  }
  if (x.mtime !== y.mtime) ctx.c.category('timestamps-in-archives', key, shown(y));
  if (x.link !== y.link) {
    ctx.c.differs(key);
    scanPair(ctx.m, ctx.c, key, [x.link, y.link], lines);
  }
  if (x.sha === y.sha || (key.endsWith('/DEBIAN/control') && controlCore(x.bytes) === controlCore(y.bytes))) return false;
  ctx.c.differs(key);
  return true;
}

/** Compares two packages' members; returns those whose content differs. */
function compareInventories(ctx: Context, deb: string, a: Inventory, b: Inventory): Set<string> {
  const wanted = new Set<string>();
  for (const [key, x] of a.members) {
    const y = b.members.get(key);
    if (consequence(key)) continue;
    if (!y) ctx.c.differs(key);
    else if (memberDiffers(ctx, key, x, y)) wanted.add(key);
  }
  for (const key of b.members.keys()) if (!a.members.has(key) && !consequence(key)) ctx.c.differs(key);
  const f1 = a.order.filter((k) => b.members.has(k));
  const f2 = b.order.filter((k) => a.members.has(k));
  const k = f1.findIndex((n, i) => n !== f2[i]);
  if (k >= 0) ctx.c.category('file-order', deb, `+${f2[k]}`);
  return wanted;
}

interface Scanned {
  hits: Array<{ f: Found; text: string; ev: string }>;
  /** the needles of either side the file holds */
  present: Set<string>;
  gzipTime: number | null;
}

/** Printable evidence around a hit in a file's bytes (read as latin1): its line, or 140 characters either side. */
function around(text: string, i: number, len: number, side: Side): string {
  const s = Math.max(text.lastIndexOf('\n', i) + 1, i - 140);
  let e = text.indexOf('\n', i + len);
  e = e < 0 ? Math.min(text.length, i + len + 140) : Math.min(e, i + len + 140);
  const utf8 = Buffer.from(text.slice(s, e), 'latin1').toString('utf8');
  let out = side === 1 ? '-' : '+';
  for (const ch of utf8) out += ch.charCodeAt(0) < 0x20 && ch !== '\t' ? '.' : ch;
  return evidence(out, i - s + 1, len);
}

/** A member's first maxBytes, scanned (a gzip file also decompressed, as far as maxBytes). */
function scanBytes(ctx: Context, buf: Buffer, side: Side): Scanned {
  const gzip = buf[0] === 0x1f && buf[1] === 0x8b && buf.length >= 10;
  let text = buf.toString('latin1');
  if (gzip) {
    try {
      // the header (its file name) and the content; Z_SYNC_FLUSH takes a file cut at maxBytes too
      const content = gunzipSync(buf, { maxOutputLength: ctx.maxBytes, finishFlush: constants.Z_SYNC_FLUSH });
      text = `${buf.subarray(0, 1024).toString('latin1')}\n${content.toString('latin1')}`;
    } catch {
      // larger than maxBytes decompressed, or damaged: its raw bytes only
    }
  }
  const sub = (f: Found): string => text.slice(f.index, f.index + f.length);
  const hits = [...ctx.m.find(text, side), ...ctx.m.epochs(text, side)].map((f) => ({ f, text: sub(f), ev: around(text, f.index, f.length, side) }));
  const k = ctx.kernelSide === side ? kernel26(text) : -1;
  if (k >= 0) hits.push({ f: { variations: [], category: 'kernel-version', index: k, length: 6 }, text: '', ev: around(text, k, 6, side) });
  const present = new Set([...ctx.m.find(text, 1, 64), ...ctx.m.find(text, 2, 64)].map(sub));
  return { hits, present, gzipTime: gzip ? buf.readUInt32LE(4) : null };
}

/** The wanted members of one package, scanned. */
async function scanMembers(ctx: Context, deb: string, name: string, side: Side, wanted: ReadonlySet<string>): Promise<Map<string, Scanned>> {
  const out = new Map<string, Scanned>();
  const flags = [...wanted].some((k) => k.startsWith(`${name}/DEBIAN/`)) ? (['--fsys-tarfile', '--ctrl-tarfile'] as const) : (['--fsys-tarfile'] as const);
  for (const flag of flags) {
    await readDebTar(
      deb,
      flag,
      (member) => {
        const key = label(name, member, flag === '--ctrl-tarfile');
        if (!wanted.has(key)) return null;
        const parts: Buffer[] = [];
        let n = 0;
        return {
          data: (b) => {
            if (n < ctx.maxBytes) parts.push(b.subarray(0, ctx.maxBytes - n));
            n += b.length;
          },
          end: () => void out.set(key, scanBytes(ctx, Buffer.concat(parts), side)),
        };
      },
      ctx.signal,
    );
  }
  return out;
}

/** Hits in a member: each side's needles that the other side's file lacks; a kernel version; gzip headers' times. */
function judgeMember(ctx: Context, key: string, s1: Scanned | undefined, s2: Scanned | undefined): void {
  for (const [mine, theirs] of [
    [s1, s2],
    [s2, s1],
  ] as const) {
    for (const h of mine?.hits ?? []) if (h.text === '' || !theirs?.present.has(h.text)) ctx.c.found(h.f, key, h.ev);
  }
  const [t1, t2] = [s1?.gzipTime ?? null, s2?.gzipTime ?? null];
  if (t1 !== null && t2 !== null && t1 !== t2) ctx.c.category('timestamps-in-gzip-headers', key, `gzip header time ${t1} -> ${t2}`);
}

/** One pair of same-named packages: their members compared, those whose content differs scanned in both. */
async function comparePackages(ctx: Context, deb1: string, deb2: string): Promise<void> {
  const name = basename(deb1);
  try {
    const [a, b] = await Promise.all([inventory(deb1, name, ctx.signal), inventory(deb2, name, ctx.signal)]);
    const wanted = compareInventories(ctx, name, a, b);
    if (wanted.size === 0) return;
    const [s1, s2] = await Promise.all([scanMembers(ctx, deb1, name, 1, wanted), scanMembers(ctx, deb2, name, 2, wanted)]);
    for (const key of wanted) judgeMember(ctx, key, s1.get(key), s2.get(key));
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    // a package dpkg-deb cannot read: it differs, and nothing here explains it
    ctx.c.differs(name);
  }
}

/**
 * Hints from the two builds' packages, for when diffoscope failed or timed
 * out: each pair of same-named .debs read through dpkg-deb (nothing is
 * unpacked to disk, so no member can land anywhere), members compared by
 * content, mode, owner, time and order, and differing files scanned (their
 * first maxBytes, binary files too: build paths hide in them).
 */
export async function hintsFromPackages(
  debs1: readonly string[],
  debs2: readonly string[],
  b1: BuildFacts,
  b2: BuildFacts,
  opts: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<HintReport> {
  const r = renderings(b1, b2);
  const ctx: Context = { m: new Matcher(r), c: new Collector(r.varied), kernelSide: kernelSide(b1, b2, r), maxBytes: opts.maxBytes ?? 4 << 20 };
  if (opts.signal) ctx.signal = opts.signal;
  const by2 = new Map(debs2.map((d) => [basename(d), d]));
  const names1 = new Set(debs1.map((d) => basename(d)));
  for (const d of debs1) {
    opts.signal?.throwIfAborted();
    const other = by2.get(basename(d));
    if (other) await comparePackages(ctx, d, other);
    else ctx.c.differs(basename(d));
  }
  for (const d of debs2) if (!names1.has(basename(d))) ctx.c.differs(basename(d));
  return ctx.c.report('packages');
}
