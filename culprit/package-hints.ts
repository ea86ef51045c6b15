/**
 * Hints from the packages themselves, when diffoscope gave no report: each
 * .deb's data and control tars read as streams through dpkg-deb (nothing
 * unpacked, so no member name reaches a path; owners, times and order kept),
 * the members that differ scanned for the needles (culprit/hints.ts).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { Collector, evidence, kernel26, Matcher, scanPair, type Found, type HintReport } from './categories.js';
import { kernelSide, listingKind, MAX_NAME } from './hints.js';
import { renderings, type BuildFacts, type Side } from './renderings.js';

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
