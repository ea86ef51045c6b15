/**
 * `reproducible-tracker.json` (docs/contract.md "JSON"): per source package,
 * its status in each suite, the shape a distribution's package tracker reads
 * from the farm. Made from the same per-suite/arch fragments as
 * reproducible.json (one current row per package), so the two never disagree.
 * A suite's status is its worst architecture's, in TRACKER_ORDER.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fragmentFile, suiteArchs, type RenderContext } from './context.js';
import type { RenderPlan } from './plan.js';

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
 * Written on a full render from every fragment; on an incremental one only the lines of the
 * packages changed are made again (from their rows, found by their line's prefix in each
 * fragment) and spliced into the file the last render wrote: at Debian scale the fragments are
 * tens of megabytes of JSON, and one result changed.
 */
export function writeTrackerJson(ctx: RenderContext, plan: RenderPlan): void {
  const target = ctx.writer.path(TRACKER_FILE);
  const changed = new Set([...plan.todo.values()].flatMap((u) => u.names));
  if (!plan.full && changed.size === 0 && existsSync(target)) return;
  const old = plan.full || changed.size > SPLICE_MAX ? null : trackerLines(target);
  const entries = new Map<string, Record<string, SuiteEntry>>();
  for (const { suite, arch } of suiteArchs(ctx.config)) {
    for (const r of fragmentRows(fragmentFile(ctx.paths.fragmentDir, suite, arch), old ? changed : null)) addRow(entries, r);
  }
  const lines = old ?? new Map<string, string>();
  for (const n of changed) lines.delete(n);
  for (const [n, e] of entries) lines.set(n, `${JSON.stringify(n)}: ${JSON.stringify(e)}`);
  const names = [...lines.keys()].sort();
  const pieces = ['{\n', ...names.map((n, i) => `${lines.get(n) ?? ''}${i < names.length - 1 ? ',' : ''}\n`), '}\n'];
  ctx.writer.compose(TRACKER_FILE, pieces);
}

function addRow(out: Map<string, Record<string, SuiteEntry>>, r: Row): void {
  let bySuite = out.get(r.package);
  if (!bySuite) out.set(r.package, (bySuite = {}));
  const e = (bySuite[r.suite] ??= { version: r.version, status: r.status, architectures: {} });
  e.architectures[r.architecture] = r.status;
  // the worst architecture's status, and the version it was tested with
  if (rank(r.status) < rank(e.status)) Object.assign(e, { status: r.status, version: r.version });
}

/** A fragment's rows (one per line, by package): all of them, or those of `only`. */
function fragmentRows(file: string, only: ReadonlySet<string> | null): Row[] {
  if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) === 0) return [];
  const text = readFileSync(file, 'utf8');
  if (only === null) return JSON.parse(`[${text}]`) as Row[];
  const out: Row[] = [];
  for (const n of only) {
    // each line is JSON.stringify of a row whose first key is package (model-status.ts jsonRow)
    const prefix = `{"package":${JSON.stringify(n)},`;
    const at = text.startsWith(prefix) ? 0 : text.indexOf(`\n${prefix}`) + 1;
    if (at === 0 && !text.startsWith(prefix)) continue;
    const end = text.indexOf('\n', at);
    out.push(JSON.parse(text.slice(at, end < 0 ? undefined : end).replace(/,$/, '')) as Row);
  }
  return out;
}

/** The last render's file as its lines by package, or null when it is not one this code wrote. */
function trackerLines(file: string): Map<string, string> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  if (lines[0] !== '{' || lines.at(-2) !== '}' || lines.at(-1) !== '') return null;
  const out = new Map<string, string>();
  for (const l of lines.slice(1, -2)) {
    const m = /^"([a-z0-9][a-z0-9+.-]*)": /.exec(l);
    if (!m?.[1]) return null;
    out.set(m[1], l.endsWith(',') ? l.slice(0, -1) : l);
  }
  return out;
}
