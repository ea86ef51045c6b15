/**
 * The file findings of breakages.html (missing logs and reports, found while
 * publishing package pages), kept per suite/arch under `.reprofarm/json/` for
 * the packages a render does not render again:
 *
 * - `<suite>_<arch>.broken.json`: every package's findings, compact (a
 *   state_dir that lost its logs has two per package: tens of thousands);
 *   read and rewritten only when that suite/arch had packages rendered;
 * - `<suite>_<arch>.broken-summary.json`: the counts per check and the first
 *   SHOWN_PER_CHECK findings of each, all breakages.html needs of it; small,
 *   so every render reads all of them.
 */
import { join } from 'node:path';
import { pkgFinding, SHOWN_PER_CHECK, type Finding } from './breakages.js';
import { JsonCache } from './json-cache.js';

/** A package's findings: its version and each finding's check and detail. */
interface Compact {
  v: string;
  f: [check: string, detail: string][];
}

interface Full {
  version: 2;
  packages: Record<string, Compact>;
}

interface Summary {
  version: 1;
  counts: Record<string, number>;
  shown: Finding[];
}

const fullCache = (dir: string, suite: string, arch: string): JsonCache<Full> =>
  new JsonCache(join(dir, `${suite}_${arch}.broken.json`), (v) => v.version === 2 && typeof v.packages === 'object');

const summaryCache = (dir: string, suite: string, arch: string): JsonCache<Summary> =>
  new JsonCache(join(dir, `${suite}_${arch}.broken-summary.json`), (v) => v.version === 1 && typeof v.counts === 'object' && Array.isArray(v.shown));

function compact(f: readonly Finding[]): Compact | undefined {
  const v = f[0]?.pkg?.version;
  return v === undefined ? undefined : { v, f: f.map((x) => [x.check, x.detail]) };
}

/**
 * Merge one render's file findings of a suite/arch: the rendered packages' entries replaced (a
 * full render starts from none). Nothing rendered there: nothing read or written.
 */
export function updateBrokenCache(
  fragmentDir: string,
  suite: string,
  arch: string,
  full: boolean,
  rendered: readonly string[],
  found: ReadonlyMap<string, Finding[]>,
): void {
  if (!full && rendered.length === 0) return;
  const cache = fullCache(fragmentDir, suite, arch);
  const packages: Record<string, Compact> = full ? {} : { ...(cache.read()?.packages ?? {}) };
  for (const n of rendered) delete packages[n];
  for (const [n, f] of found) {
    const c = compact(f);
    if (c) packages[n] = c;
  }
  const names = Object.keys(packages).sort();
  cache.write({ version: 2, packages: Object.fromEntries(names.map((n) => [n, packages[n] as Compact])) });
  const counts: Record<string, number> = {};
  const shown: Finding[] = [];
  for (const n of names) {
    const c = packages[n] as Compact;
    for (const [check, detail] of c.f) {
      counts[check] = (counts[check] ?? 0) + 1;
      if ((counts[check] ?? 0) <= SHOWN_PER_CHECK) shown.push(pkgFinding(check, { suite, arch, package: n, version: c.v }, detail));
    }
  }
  summaryCache(fragmentDir, suite, arch).write({ version: 1, counts, shown });
}

/** What breakages.html shows of these suite/archs' file findings: the first of each check, and how many more. */
export function brokenSummary(
  fragmentDir: string,
  suiteArchs: readonly { suite: string; arch: string }[],
): { findings: Finding[]; unlisted: Map<string, number> } {
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
