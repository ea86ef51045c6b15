/**
 * The view model of variations.html: each job's two nodes' facts side by
 * side, and the variations its recent builds applied.
 */
import type { RunRow } from '../db/site.js';
import { fmtDate, fmtDuration, fmtOffset, urlSegment } from './format.js';
import { isStale, pageBase, parseJsonObject, type PageBase } from './model.js';

export const FACT_KEYS = ['ARCH', 'NUM_CPU', 'CPU_MODEL', 'KERNEL', 'DATETIME', 'TZ', 'TERM', 'COLUMNS', 'LANG', 'HOSTNAME', 'DOMAINNAME', 'OS'] as const;

/** The builder's variations, in the order of DESIGN.md's table; all but these last two are expected to differ. */
export const VARIATION_ORDER = [
  'TZ',
  'DATE',
  'LANG',
  'LC_ALL',
  'LANGUAGE',
  'TERM',
  'COLUMNS',
  'HOSTNAME',
  'DOMAINNAME',
  'UMASK',
  'BUILD_PATH',
  'PATH',
  'CAPTURE_ENVIRONMENT',
  'HOME',
  'PARALLEL',
  'KERNEL',
  'NICE',
] as const;
const NOT_EXPECTED_TO_VARY = new Set(['KERNEL', 'NICE']);

/** Variation keys in the table's order, unknown ones after, sorted. */
export function orderVariations(keys: Iterable<string>): string[] {
  const seen = new Set(keys);
  const known: readonly string[] = VARIATION_ORDER;
  return [...known.filter((k) => seen.has(k)), ...[...seen].filter((k) => !known.includes(k)).sort()];
}

export interface FactRowView {
  key: string;
  v1: string;
  v2: string;
  differ: boolean;
  expected: boolean;
  flagged: boolean;
}

export interface VariationRowView {
  key: string;
  v1: string;
  v2: string;
  applied1: string;
  applied2: string;
  notApplied: string[];
  differ: boolean;
  expected: boolean;
  flagged: boolean;
}

export interface JobView {
  name: string;
  anchor: string;
  node1: string;
  node2: string;
  node1Href: string;
  node2Href: string;
  collected1: string;
  collected2: string;
  stale1: boolean;
  stale2: boolean;
  facts: FactRowView[];
  variations: VariationRowView[];
  builds: number;
  flags: string[];
}

export interface VariationsView extends PageBase {
  jobs: JobView[];
  recent: number;
  intervalText: string;
}

export interface JobInput {
  name: string;
  node1: string;
  node2: string;
  facts1: { at: string; facts: ReadonlyMap<string, string>; offset: number | null } | undefined;
  facts2: { at: string; facts: ReadonlyMap<string, string>; offset: number | null } | undefined;
  /** the job's recent builds' runs, newest first; or what jobVariations made of them */
  runs?: readonly RunRow[];
  summary?: JobVariations;
}

/** A job's variations over its recent builds: a function of their runs alone, so it can be kept from one render to the next. */
export interface JobVariations {
  variations: VariationRowView[];
  flags: string[];
  /** how many builds the runs are of */
  builds: number;
}

function jsonMap(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(parseJsonObject(text))) m.set(k, v);
  return m;
}

/** One single build's variations as recorded: applied, and not applied with why. */
interface RecordedRun {
  v: Map<string, string>;
  na: Map<string, string>;
}

/** The variation rows of a job's recent runs (newest first): the latest values of build 1 and 2, how often each was applied, and why not. */
export function jobVariations(runs: readonly RunRow[]): JobVariations {
  const builds = new Set<number>();
  // per build number (1, 2): how many runs, and the newest
  const count: [number, number] = [0, 0];
  const latest: [RecordedRun | undefined, RecordedRun | undefined] = [undefined, undefined];
  // variation -> how many of build 1's and build 2's runs applied it
  const applied = new Map<string, [number, number]>();
  // variation -> why not -> how many runs
  const reasons = new Map<string, Map<string, number>>();
  for (const r of runs) {
    builds.add(r.build_id);
    if (r.build_number !== 1 && r.build_number !== 2) continue;
    const i = r.build_number === 1 ? 0 : 1;
    const run: RecordedRun = { v: jsonMap(r.variations), na: jsonMap(r.not_applied) };
    count[i]++;
    latest[i] ??= run;
    for (const k of run.v.keys()) {
      let a = applied.get(k);
      if (!a) applied.set(k, (a = [0, 0]));
      if (!run.na.has(k)) a[i]++;
    }
    for (const [k, why] of run.na) {
      if (!applied.has(k)) applied.set(k, [0, 0]);
      let m = reasons.get(k);
      if (!m) reasons.set(k, (m = new Map<string, number>()));
      m.set(why, (m.get(why) ?? 0) + 1);
    }
  }
  const [n1, n2] = count;
  const [latest1, latest2] = latest;
  const shown = (r: RecordedRun | undefined, key: string): string => r?.v.get(key) ?? (r?.na.has(key) ? 'not applied' : '—');
  const flags: string[] = [];
  const variations = orderVariations(applied.keys()).map((key) => {
    const v1 = shown(latest1, key);
    const v2 = shown(latest2, key);
    const [a1, a2] = applied.get(key) ?? [0, 0];
    const expected = !NOT_EXPECTED_TO_VARY.has(key);
    const differ = v1 !== v2;
    const incomplete = a1 < n1 || a2 < n2;
    const flagged = expected && (!differ || incomplete);
    if (flagged) flags.push(!differ ? `${key} was the same in both builds (${v1})` : `${key} was not applied in every recent build`);
    return {
      key,
      v1,
      v2,
      applied1: `${a1}/${n1}`,
      applied2: `${a2}/${n2}`,
      notApplied: [...(reasons.get(key) ?? [])].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([why, n]) => `${why} (${n}×)`),
      differ,
      expected,
      flagged,
    };
  });
  return { variations, flags, builds: builds.size };
}

function factValue(f: JobInput['facts1'], key: string): string {
  if (!f) return '—';
  const v = f.facts.get(key) ?? 'unset';
  if (key === 'DATETIME') return `${v} (clock ${fmtOffset(f.offset)})`;
  return v;
}

export function variationsView(
  jobs: readonly JobInput[],
  varyFacts: readonly string[],
  recent: number,
  asOf: string | null,
  intervalS: number,
): VariationsView {
  const base = pageBase('Variations: what differs between the two builds', 0, asOf, 'variations');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    recent,
    intervalText: fmtDuration(intervalS),
    jobs: jobs.map((j) => {
      const flags: string[] = [];
      const keys = [...new Set([...FACT_KEYS, ...varyFacts])];
      const facts = keys.map((key) => {
        const v1 = factValue(j.facts1, key);
        const v2 = factValue(j.facts2, key);
        let differ = v1 !== v2;
        if (key === 'DATETIME') differ = Math.abs((j.facts1?.offset ?? 0) - (j.facts2?.offset ?? 0)) >= 60;
        const expected = varyFacts.includes(key);
        const flagged = expected && !differ && j.facts1 !== undefined && j.facts2 !== undefined;
        if (flagged) flags.push(`both nodes have the same ${key} (${v1})`);
        return { key, v1, v2, differ, expected, flagged };
      });
      if (!j.facts1 || !j.facts2)
        flags.push(`no facts collected yet from ${[!j.facts1 ? j.node1 : '', !j.facts2 ? j.node2 : ''].filter(Boolean).join(' and ')}`);
      const stale1 = isStale(j.facts1?.at, asOf, intervalS);
      const stale2 = isStale(j.facts2?.at, asOf, intervalS);

      const summary = j.summary ?? jobVariations(j.runs ?? []);
      flags.push(...summary.flags);
      return {
        name: j.name,
        anchor: `job-${urlSegment(j.name)}`,
        node1: j.node1,
        node2: j.node2,
        node1Href: `nodes.html#node-${urlSegment(j.node1)}`,
        node2Href: `nodes.html#node-${urlSegment(j.node2)}`,
        collected1: fmtDate(j.facts1?.at),
        collected2: fmtDate(j.facts2?.at),
        stale1,
        stale2,
        facts,
        variations: summary.variations,
        builds: summary.builds,
        flags,
      };
    }),
  };
}
