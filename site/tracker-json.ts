/**
 * `reproducible-tracker.json` (docs/contract.md "JSON"): per source package,
 * its status in each suite, the shape a distribution's package tracker reads
 * from the farm. Made from the same per-suite/arch fragments as
 * reproducible.json (one current row per package), so the two never disagree.
 * A suite's status is its worst architecture's, in TRACKER_ORDER.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { fragmentFile, suiteArchs, type RenderContext } from './context.js';
import type { RenderPlan } from './plan.js';
import { bytes, COMMA_NL, FileLines, jsonKey, locate, NotSpliceable, spliceFragment } from './splice-lines.js';

const TRACKER_FILE = 'reproducible-tracker.json';

/** Worst first: what a maintainer should look at comes before what is fine. */
export const TRACKER_ORDER = ['FTBFS', 'FTBR', 'depwait', 'timeout', 'E404', 'source-mismatch', 'NFU', 'blacklisted', 'untested', 'reproducible'];

interface Row {
  package: string;
  version: string;
  suite: string;
  architecture: string;
  status: string;
}

interface SuiteEntry {
  version: string;
  status: string;
  architectures: Record<string, string>;
}

const rank = (s: string): number => {
  const i = TRACKER_ORDER.indexOf(s);
  return i < 0 ? TRACKER_ORDER.length : i;
};

/** Past this many changed packages an incremental render reads the fragments whole. */
const SPLICE_MAX = 500;

/**
 * Written on a full render from every fragment. On an incremental one only the lines of the
 * packages changed are made again, from their rows (found by binary search in each fragment),
 * and spliced into the file the last render wrote (splice-lines.ts): at Debian scale the
 * fragments are tens of megabytes of JSON and the tracker file several, and one result changed.
 */
export function writeTrackerJson(ctx: RenderContext, plan: RenderPlan): void {
  const changed = [...new Set([...plan.todo.values()].flatMap((u) => u.names))].sort();
  if (!plan.full && changed.length === 0 && existsSync(ctx.writer.path(TRACKER_FILE))) return;
  if (!plan.full && changed.length <= SPLICE_MAX) {
    try {
      spliceTracker(ctx, changed);
      return;
    } catch (err) {
      // not a file this code wrote, or none: made whole below
      if (!(err instanceof NotSpliceable)) throw err;
    }
  }
  const entries = new Map<string, Record<string, SuiteEntry>>();
  for (const { suite, arch } of suiteArchs(ctx.config)) for (const r of allRows(fragmentFile(ctx.paths.fragmentDir, suite, arch))) addRow(entries, r);
  const names = [...entries.keys()].sort();
  const pieces = ['{\n', ...names.map((n, i) => `${trackerLine(n, entries.get(n) ?? {})}${i < names.length - 1 ? ',' : ''}\n`), '}\n'];
  ctx.writer.compose(TRACKER_FILE, pieces);
}

const trackerLine = (name: string, e: Record<string, SuiteEntry>): string => `${JSON.stringify(name)}: ${JSON.stringify(e)}`;

/** The package a tracker line (`"name": {...},`) is of, as a byte string. */
function trackerKey(line: Buffer): string {
  const end = line.indexOf('": ');
  if (line[0] !== 0x22 || end < 0) throw new NotSpliceable('a tracker line without its package');
  return line.toString('latin1', 1, end);
}

/**
 * The file is `{\n`, its lines joined by `,\n`, then `\n}\n` (`{\n}\n` without any): the lines
 * are spliced as a fragment's are (splice-lines.ts spliceFragment).
 */
function spliceTracker(ctx: RenderContext, changed: readonly string[]): void {
  const entries = new Map<string, Record<string, SuiteEntry>>();
  for (const { suite, arch } of suiteArchs(ctx.config)) for (const r of rowsOf(fragmentFile(ctx.paths.fragmentDir, suite, arch), changed)) addRow(entries, r);
  const lines = new Map([...entries].map(([n, e]) => [bytes(n), Buffer.from(`${trackerLine(n, e)},\n`)]));
  const file = ctx.writer.path(TRACKER_FILE);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new NotSpliceable(`${file} is missing`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(2);
    const tail = Buffer.alloc(3);
    readSync(fd, head, 0, 2, 0);
    readSync(fd, tail, 0, 3, Math.max(0, size - 3));
    const empty = size === 4 && head.toString() === '{\n' && tail.toString() === '\n}\n';
    if (!empty && (size < 6 || head.toString() !== '{\n' || tail.toString() !== '\n}\n')) throw new NotSpliceable(`${file} is not as this code writes it`);
    const rowsLength = empty ? 0 : size - 5;
    const src = new FileLines(fd, 2, rowsLength, rowsLength > 0 ? COMMA_NL : undefined);
    const spliced = spliceFragment(src, rowsLength, changed.map(bytes), lines, trackerKey);
    if (!spliced.changed) return;
    const rows = spliced.pieces.map((p) => (p instanceof Uint8Array ? p : { file, start: 2 + p.start, end: 2 + p.end }));
    ctx.writer.compose(TRACKER_FILE, rows.length > 0 ? ['{\n', ...rows, '\n}\n'] : ['{\n}\n']);
  } finally {
    closeSync(fd);
  }
}

function addRow(out: Map<string, Record<string, SuiteEntry>>, r: Row): void {
  let bySuite = out.get(r.package);
  if (!bySuite) out.set(r.package, (bySuite = {}));
  const e = (bySuite[r.suite] ??= { version: r.version, status: r.status, architectures: {} });
  e.architectures[r.architecture] = r.status;
  // the worst architecture's status, and the version it was tested with
  if (rank(r.status) < rank(e.status)) Object.assign(e, { status: r.status, version: r.version });
}

/** A fragment's rows (one per line, by package). */
function allRows(file: string): Row[] {
  if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) === 0) return [];
  return JSON.parse(`[${readFileSync(file, 'utf8')}]`) as Row[];
}

/** The rows of `names` in a fragment, each found by binary search: a few kilobytes read, not the fragment. */
function rowsOf(file: string, names: readonly string[]): Row[] {
  const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (size === 0) return [];
  const fd = openSync(file, 'r');
  try {
    // every row a line ending in ',\n' (the last one's is not in the file)
    const src = new FileLines(fd, 0, size, COMMA_NL);
    const out: Row[] = [];
    for (const n of names) {
      const { at, end } = locate(src, bytes(n), jsonKey);
      if (end > at) out.push(JSON.parse(src.bytes(at, end - 2).toString('utf8')) as Row);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
