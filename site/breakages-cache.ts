/**
 * The file findings of breakages.html (missing logs and reports, found while
 * publishing package pages), kept per suite/arch under `.reprofarm/json/` for
 * the packages a render does not render again:
 *
 * - `<suite>_<arch>.broken.jsonl`: a line per package with findings, sorted
 *   by name (a state_dir that lost its logs has two per package: tens of
 *   thousands). An incremental render splices the rendered packages' lines
 *   into it (splice-lines.ts: a binary search reads a few kilobytes), so one
 *   new result costs what one package's findings cost;
 * - `<suite>_<arch>.broken-summary.json`: the counts per check and the first
 *   SHOWN_PER_CHECK findings of each, all breakages.html needs of it; small,
 *   so every render reads all of them. The counts are kept up to date from
 *   the lines replaced; the first findings are read again only when a change
 *   reaches them.
 */
import { closeSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pkgFinding, SHOWN_PER_CHECK, type Finding } from './breakages.js';
import { JsonCache } from './json-cache.js';
import { bytes, FileLines, locate, NotSpliceable, openAsWritten, spliceLines } from './splice-lines.js';
import type { SiteWriter } from './writer.js';

/** A package's findings: its name, version and each finding's check and detail. */
interface Line {
  p: string;
  v: string;
  f: [check: string, detail: string][];
}

interface Summary {
  version: 2;
  /** the size the lines file was written with: one of another size is not spliced */
  size: number;
  counts: Record<string, number>;
  shown: Finding[];
}

const linesFile = (dir: string, suite: string, arch: string): string => join(dir, `${suite}_${arch}.broken.jsonl`);

const summaryCache = (dir: string, suite: string, arch: string): JsonCache<Summary> =>
  new JsonCache(
    join(dir, `${suite}_${arch}.broken-summary.json`),
    (v) => v.version === 2 && typeof v.size === 'number' && typeof v.counts === 'object' && Array.isArray(v.shown),
  );

function parseLine(b: Buffer): Line {
  try {
    const v = JSON.parse(b.toString('utf8')) as Partial<Line>;
    if (typeof v.p === 'string' && typeof v.v === 'string' && Array.isArray(v.f)) return v as Line;
  } catch {
    // below
  }
  throw new NotSpliceable('a findings line that does not parse');
}

/** A line's package, as a byte string (splice-lines.ts `bytes`). */
const lineKey = (b: Buffer): string => bytes(parseLine(b).p);

/**
 * Merge one render's file findings of a suite/arch: the rendered packages' lines replaced (a
 * full render, or a cache not as this code wrote it, starts from none). Nothing rendered there:
 * nothing read or written.
 */
export function updateBrokenCache(
  writer: SiteWriter,
  dir: string,
  where: Where,
  full: boolean,
  rendered: readonly string[],
  found: ReadonlyMap<string, Finding[]>,
): void {
  if (!full && rendered.length === 0) return;
  const { suite, arch } = where;
  // the layout before the lines file, one JSON object (a full render comes after the change)
  if (full) rmSync(join(dir, `${suite}_${arch}.broken.json`), { force: true });
  const lines = new Map<string, Buffer>();
  for (const [n, f] of found) {
    const v = f[0]?.pkg?.version;
    if (v !== undefined) lines.set(bytes(n), Buffer.from(`${JSON.stringify({ p: n, v, f: f.map((x) => [x.check, x.detail]) } satisfies Line)}\n`));
  }
  const summary = summaryCache(dir, suite, arch);
  const last = full ? undefined : summary.read();
  const file = linesFile(dir, suite, arch);
  let next: Summary | undefined;
  try {
    next = last && splice(writer, file, last, rendered.map(bytes), lines, where);
  } catch (err) {
    if (!(err instanceof NotSpliceable)) throw err;
  }
  next ??= writeWhole(writer, file, lines, where);
  if (next !== last) summary.write(next);
}

type Where = { suite: string; arch: string };

function writeWhole(w: SiteWriter, file: string, lines: ReadonlyMap<string, Buffer>, where: Where): Summary {
  const sorted = [...lines.keys()].sort().map((k) => lines.get(k) as Buffer);
  const counts: Record<string, number> = {};
  for (const b of sorted) for (const [check] of parseLine(b).f) counts[check] = (counts[check] ?? 0) + 1;
  const f = w.prepare(relative(w.root, file), sorted, { bookkeeping: true });
  f.commit();
  return { version: 2, size: f.size, counts: sortedKeys(counts), shown: firstShown(sorted, counts, where) };
}

/** The last render's lines file with the rendered packages' lines replaced; its counts and first findings brought up to date. */
function splice(w: SiteWriter, file: string, last: Summary, keys: readonly string[], lines: ReadonlyMap<string, Buffer>, where: Where): Summary {
  const fd = openAsWritten(file, last.size);
  try {
    const src = new FileLines(fd, 0, last.size);
    const counts = { ...last.counts };
    let reachesShown = false;
    for (const k of keys) {
      const { at, end } = locate(src, k, lineKey);
      const old = end > at ? Buffer.from(src.bytes(at, end)) : undefined;
      const now = lines.get(k);
      if (old && now?.equals(old)) continue;
      for (const [l, by] of [
        [old, -1],
        [now, 1],
      ] as const) {
        for (const [check] of l ? parseLine(l).f : []) {
          counts[check] = (counts[check] ?? 0) + by;
          if (counts[check] === 0) delete counts[check];
          reachesShown ||= reaches(last.shown, check, k);
        }
      }
    }
    const spliced = spliceLines(src, keys, lines, lineKey);
    if (!spliced.changed) return last;
    const f = w.prepare(
      relative(w.root, file),
      spliced.pieces.map((p) => (p instanceof Uint8Array ? p : { file, ...p })),
      { bookkeeping: true },
    );
    f.commit();
    // the first findings of each check change only where a changed package is among them, or before the last of them
    const shown = reachesShown ? firstShown(linesOf(readFileSync(file)), counts, where) : last.shown;
    return { version: 2, size: f.size, counts: sortedKeys(counts), shown };
  } finally {
    closeSync(fd);
  }
}

/** Whether a change of `check` at package `key` moves what is shown of it: all of it is shown, or the change is before the last shown. */
function reaches(shown: readonly Finding[], check: string, key: string): boolean {
  const of = shown.filter((s) => s.check === check);
  const lastName = of.at(-1)?.pkg?.name;
  return of.length < SHOWN_PER_CHECK || lastName === undefined || key <= bytes(lastName);
}

/** The first SHOWN_PER_CHECK findings of each check, in the lines' order; read no further than they reach. */
function firstShown(sorted: Iterable<Buffer>, counts: Readonly<Record<string, number>>, where: Where): Finding[] {
  const want = new Map(Object.entries(counts).map(([c, n]) => [c, Math.min(n, SHOWN_PER_CHECK)]));
  let left = [...want.values()].reduce((a, b) => a + b, 0);
  const shown: Finding[] = [];
  for (const b of sorted) {
    if (left <= 0) break;
    const l = parseLine(b);
    for (const [check, detail] of l.f) {
      const w = want.get(check) ?? 0;
      if (w <= 0) continue;
      want.set(check, w - 1);
      left--;
      shown.push(pkgFinding(check, { ...where, package: l.p, version: l.v }, detail));
    }
  }
  return shown;
}

/** The same counts in the same bytes, however they were come to. */
const sortedKeys = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

function* linesOf(b: Buffer): Generator<Buffer> {
  for (let at = 0; at < b.length;) {
    const nl = b.indexOf(0x0a, at);
    const end = nl < 0 ? b.length : nl + 1;
    yield b.subarray(at, end);
    at = end;
  }
}

/** What breakages.html shows of these suite/archs' file findings: the first of each check, and how many more. */
export function brokenSummary(fragmentDir: string, suiteArchs: readonly Where[]): { findings: Finding[]; unlisted: Map<string, number> } {
  const findings: Finding[] = [];
  const unlisted = new Map<string, number>();
  for (const { suite, arch } of suiteArchs) {
    const s = summaryCache(fragmentDir, suite, arch).read();
    if (!s) continue;
    findings.push(...s.shown);
    for (const [check, n] of Object.entries(s.counts)) unlisted.set(check, (unlisted.get(check) ?? 0) + n);
  }
  for (const f of findings) unlisted.set(f.check, (unlisted.get(f.check) ?? 0) - 1);
  return { findings, unlisted };
}
