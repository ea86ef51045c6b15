/**
 * What an FTBR starts: the hints (culprit/hints.ts) read from diffoscope's
 * report, or from the unpacked packages when diffoscope gave none; the
 * verdict at once when they settle it; else the search's first plan over the
 * variations that may explain the difference, and build 1's artifacts to
 * compare the follow-up builds with. Recorded with the FTBR, in its
 * transaction (db/builds.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import type { BuildRunRecord } from '../db/builds.js';
import type { SearchStart } from '../db/culprits.js';
import type { ResultDir } from '../builder/compare.js';
import { hintsFromDiffoscope, settledCulprits, type BuildFacts, type HintReport } from './hints.js';
import { hintsFromPackages } from './package-hints.js';
import { searchKeys } from './keys.js';
import { newPlan } from './search.js';

export interface Ftbr {
  job: string;
  runs: readonly [BuildRunRecord, BuildRunRecord];
  results: readonly [{ dir: string; r: ResultDir }, { dir: string; r: ResultDir }];
  /** diffoscope's text report, when diffoscope finished */
  reportText: string | null;
}

export async function culpritStart(config: Config, f: Ftbr): Promise<SearchStart> {
  const run2 = f.runs[1];
  const keys = searchKeys(config, f.job, run2.notApplied);
  // hints that fail (an unreadable report, a .deb dpkg-deb refuses) leave the search to do it
  const hints = await readHints(f).catch((): HintReport | null => null);
  const settled = hints ? settledCulprits(hints) : null;
  const r1 = f.results[0].r;
  const start: SearchStart = {
    job: f.job,
    hints: hints?.hints ?? [],
    categories: hints?.categories ?? [],
    plan: JSON.stringify(newPlan(keys)),
    reference: { artifacts: Object.fromEntries(r1.artifacts.map((a) => [a.name, a.sha256])), buildDepends: r1.buildDepends },
  };
  if (settled) {
    start.verdict = {
      verdict: 'culprits',
      culprits: settled,
      source: 'hints',
      why: `the differences show ${settled.join(', ')} (${hints?.source === 'packages' ? 'in the unpacked packages' : "in diffoscope's report"})`,
    };
  } else if (keys.length === 0) {
    start.verdict = { verdict: 'unknown', culprits: [], source: 'search', why: 'no variation that build 2 applied differs from build 1: nothing to search' };
  } else if (config.culprit.maxBuildsPerPackage === 0) {
    start.verdict = { verdict: 'unknown', culprits: [], source: 'search', why: 'no search: culprit.max_builds_per_package is 0' };
  }
  return start;
}

async function readHints(f: Ftbr): Promise<HintReport> {
  const [b1, b2] = f.runs.map(facts) as [BuildFacts, BuildFacts];
  if (f.reportText) return hintsFromDiffoscope(await readFile(f.reportText, 'utf8'), b1, b2);
  const debs = (i: 0 | 1): string[] => f.results[i].r.artifacts.map((a) => join(f.results[i].dir, a.name)).filter((p) => p.endsWith('.deb'));
  return hintsFromPackages(debs(0), debs(1), b1, b2);
}

function facts(r: BuildRunRecord): BuildFacts {
  return { variations: r.variations, notApplied: r.notApplied, startedAt: r.startedAt, durationS: r.durationS };
}
