/**
 * `reproducible-tracker.json` (docs/contract.md "JSON"): per source package,
 * its status in each suite, the shape a distribution's package tracker reads
 * from the farm. Made from the same per-suite/arch fragments as
 * reproducible.json (one current row per package), so the two never disagree.
 * A suite's status is its worst architecture's, in TRACKER_ORDER.
 */
import { readFileSync, statSync } from 'node:fs';
import { fragmentFile, suiteArchs, type RenderContext } from './context.js';

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

export function writeTrackerJson(ctx: RenderContext): void {
  const out = new Map<string, Record<string, SuiteEntry>>();
  for (const { suite, arch } of suiteArchs(ctx.config)) {
    const file = fragmentFile(ctx.paths.fragmentDir, suite, arch);
    if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) === 0) continue;
    for (const r of JSON.parse(`[${readFileSync(file, 'utf8')}]`) as Row[]) {
      let bySuite = out.get(r.package);
      if (!bySuite) out.set(r.package, (bySuite = {}));
      const e = (bySuite[r.suite] ??= { version: r.version, status: r.status, architectures: {} });
      e.architectures[r.architecture] = r.status;
      // the worst architecture's status, and the version it was tested with
      if (rank(r.status) < rank(e.status)) Object.assign(e, { status: r.status, version: r.version });
    }
  }
  const names = [...out.keys()].sort();
  const pieces = ['{\n', ...names.map((n, i) => `${JSON.stringify(n)}: ${JSON.stringify(out.get(n))}${i < names.length - 1 ? ',' : ''}\n`), '}\n'];
  ctx.writer.compose('reproducible-tracker.json', pieces);
}
