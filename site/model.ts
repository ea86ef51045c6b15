/**
 * View models: pure functions from DB rows (and a few facts about files) to
 * what each template shows. No I/O, no clock: "now" is the DB's newest
 * timestamp, so the same DB gives the same pages.
 */
import { STATUSES } from '../core/statuses.js';
import type { ListRow, NodeBuildStats, NodeSiteRow, PackageData, RunRow, ScheduleRow } from '../db/site.js';
import { buildsPerDay, dayRange, reproducibleShare, STATUS_COLOURS, type BarsChart, type LineChart } from './charts.js';
import { escapeHtml, fmtDate, fmtDuration, fmtOffset, percent, rootFrom, statusClass, urlSegment } from './format.js';

export interface NavLink {
  href: string;
  label: string;
  current: boolean;
}

export interface PageBase {
  title: string;
  /** relative prefix back to the site root */
  root: string;
  nav: NavLink[];
  /**
   * the DB's newest timestamp, on the pages rendered every time; package and
   * status pages leave it out, so that they change only when their own data does
   */
  asOf: string | null;
}

export const STATUS_HELP: Record<string, string> = {
  reproducible: 'both builds produced bit-for-bit identical packages',
  FTBR: 'failed to build reproducibly: the two builds differ',
  FTBFS: 'failed to build from source',
  depwait: 'waiting for build dependencies',
  E404: 'the source could not be downloaded',
  'source-mismatch': 'a checksum did not match its work order: nothing was built',
  timeout: 'a build ran past its time limit',
  NFU: 'not for this architecture',
  blacklisted: 'never built, by configuration',
  untested: 'not built yet',
};

export function packageHref(root: string, suite: string, arch: string, pkg: string): string {
  return `${root}rb-pkg/${urlSegment(suite)}/${urlSegment(arch)}/${urlSegment(pkg)}.html`;
}

export function statusHref(root: string, suite: string, arch: string, status: string): string {
  return `${root}${urlSegment(suite)}/${urlSegment(arch)}/index_${urlSegment(status)}.html`;
}

export function scheduledHref(root: string, suite: string, arch: string): string {
  return `${root}${urlSegment(suite)}/${urlSegment(arch)}/index_scheduled.html`;
}

/**
 * What every page has. Views name these four fields rather than spread the
 * object into theirs: V8 makes an object spread into a literal with many more
 * properties very slowly (about 50 µs a package page here, against 0.2).
 */
export function pageBase(title: string, depth: number, asOf: string | null | undefined, current: string): PageBase {
  const root = rootFrom(depth);
  const nav = [
    { href: `${root}index.html`, label: 'Dashboard', id: 'index' },
    { href: `${root}variations.html`, label: 'Variations', id: 'variations' },
    { href: `${root}nodes.html`, label: 'Nodes', id: 'nodes' },
    { href: `${root}reproducible.json`, label: 'JSON', id: 'json' },
  ].map((l) => ({ href: l.href, label: l.label, current: l.id === current }));
  return { title, root, nav, asOf: asOf === undefined ? null : asOf ? fmtDate(asOf) : 'no data yet' };
}

// ---- index.html -----------------------------------------------------------

export interface StatusCountRow {
  status: string;
  cls: string;
  n: number;
  pct: string;
  href: string;
  help: string;
  colour: string;
}

export interface SuiteArchSummary {
  suite: string;
  arch: string;
  total: number;
  rows: StatusCountRow[];
  waiting: number;
  building: number;
  scheduledHref: string;
  reproduciblePct: string;
  /** the charts' geometry, or the charts already rendered */
  builds?: BarsChart;
  share?: LineChart;
  chartsHtml?: ChartsHtml;
}

export interface IndexView extends PageBase {
  sections: SuiteArchSummary[];
}

export interface SuiteArchInput {
  suite: string;
  arch: string;
  known: number;
  counts: ReadonlyMap<string, number>;
  /** packages being built now, and waiting in the schedule */
  building: number;
  waiting: number;
  /** the daily builds the two charts are drawn from, or the charts already rendered (the site builder caches them) */
  daily?: Parameters<typeof buildsPerDay>[0];
  chartsHtml?: ChartsHtml;
}

export interface ChartsHtml {
  share: string;
  builds: string;
}

export interface UnitCharts {
  builds: BarsChart;
  share: LineChart;
}

/** The last day the charts show: the day of the DB's newest timestamp (so far). */
export function lastChartDay(asOf: string | null): string {
  return (asOf ?? '1970-01-01').slice(0, 10);
}

/**
 * A suite/arch's two dashboard charts: builds per day by status, and the
 * reproducible share, over the CHART_DAYS days up to the DB's newest
 * timestamp's day (that one so far).
 */
export function unitCharts(daily: Parameters<typeof buildsPerDay>[0], asOf: string | null): UnitCharts {
  const days = dayRange(lastChartDay(asOf), CHART_DAYS);
  return { builds: buildsPerDay(daily, days, STATUSES), share: reproducibleShare(daily, days) };
}

export const CHART_DAYS = 365;

export function indexView(inputs: readonly SuiteArchInput[], asOf: string | null): IndexView {
  const base = pageBase('Reproducible builds: dashboard', 0, asOf, 'index');
  const sections = inputs.map((i) => {
    let tested = 0;
    for (const [s, n] of i.counts) if (s !== 'untested') tested += n;
    const counts = new Map(i.counts);
    counts.set('untested', Math.max(0, i.known - tested) + (i.counts.get('untested') ?? 0));
    const total = Math.max(i.known, tested);
    const rows = STATUSES.map((s) => ({
      status: s, cls: statusClass(s), n: counts.get(s) ?? 0, pct: percent(counts.get(s) ?? 0, total),
      href: statusHref(base.root, i.suite, i.arch, s), help: STATUS_HELP[s] ?? '', colour: STATUS_COLOURS[s] ?? '#888888',
    }));
    return {
      suite: i.suite, arch: i.arch, total, rows, building: i.building, waiting: i.waiting,
      scheduledHref: scheduledHref(base.root, i.suite, i.arch),
      reproduciblePct: percent(counts.get('reproducible') ?? 0, total),
      ...(i.chartsHtml ? { chartsHtml: i.chartsHtml } : unitCharts(i.daily ?? [], asOf)),
    };
  });
  return { title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, sections };
}

// ---- <SUITE>/<ARCH>/index_<STATUS>.html ------------------------------------

export interface StatusPageView extends PageBase {
  suite: string;
  arch: string;
  status: string;
  cls: string;
  help: string;
  /** how many packages have this status */
  count: number;
  /** the table's rows, already escaped (statusRowHtml): one line per package, sorted by name */
  rowsHtml: string;
  others: { status: string; href: string; current: boolean }[];
  scheduledHref: string;
}

/** A suite/arch's listing split by status, every status present (in the order of STATUSES, then any other). */
export function groupByStatus(listing: readonly ListRow[]): Map<string, ListRow[]> {
  const by = new Map<string, ListRow[]>(STATUSES.map((s) => [s, []]));
  for (const r of listing) {
    let l = by.get(r.status);
    if (!l) by.set(r.status, (l = []));
    l.push(r);
  }
  return by;
}

/**
 * One row of a status page: a single line, escaped here rather than in the
 * template, so that an incremental render can replace a package's line in the
 * page it rendered before (site/status-unit.ts) and get the bytes a full
 * render would.
 */
export function statusRowHtml(suite: string, arch: string, r: ListRow): string {
  return `<tr><td><a href="${escapeHtml(packageHref(rootFrom(2), suite, arch, r.package))}">${escapeHtml(r.package)}</a></td>`
    + `<td>${escapeHtml(r.version)}</td><td data-sort="${escapeHtml(r.build_date ?? '')}">${escapeHtml(fmtDate(r.build_date))}</td></tr>\n`;
}

/** One status page of a suite/arch from its rows' lines; `statuses` are all the statuses it links to. */
export function statusPageOf(suite: string, arch: string, status: string, count: number, rowsHtml: string, statuses: readonly string[]): StatusPageView {
  const root = rootFrom(2);
  const base = pageBase(`${suite}/${arch}: ${status} (${count})`, 2, undefined, '');
  return {
    title: base.title, root: base.root, nav: base.nav, asOf: base.asOf,
    suite, arch, status, cls: statusClass(status), help: STATUS_HELP[status] ?? '', count, rowsHtml,
    others: statuses.map((s) => ({ status: s, href: statusHref(root, suite, arch, s), current: s === status })),
    scheduledHref: scheduledHref(root, suite, arch),
  };
}

export function statusPage(suite: string, arch: string, status: string, rows: readonly ListRow[], statuses: readonly string[]): StatusPageView {
  return statusPageOf(suite, arch, status, rows.length, rows.map((r) => statusRowHtml(suite, arch, r)).join(''), statuses);
}

export function statusPages(suite: string, arch: string, listing: readonly ListRow[]): StatusPageView[] {
  const by = groupByStatus(listing);
  const statuses = [...by.keys()];
  return statuses.map((status) => statusPage(suite, arch, status, by.get(status) ?? [], statuses));
}

// ---- <SUITE>/<ARCH>/index_scheduled.html -----------------------------------

export interface ScheduledView extends PageBase {
  suite: string;
  arch: string;
  building: { package: string; href: string; version: string; job: string; since: string }[];
  waiting: { package: string; href: string; version: string; priority: number; reason: string; scheduledAt: string; by: string }[];
  statusesHref: string;
}

/** A suite/arch's schedule. It shows no "as of": it is written again only when its rows change. */
export function scheduledView(suite: string, arch: string, rows: readonly ScheduleRow[]): ScheduledView {
  const root = rootFrom(2);
  const current = new Set(rows.filter((r) => r.current).map((r) => r.package));
  const href = (p: string): string => (current.has(p) ? packageHref(root, suite, arch, p) : '');
  const base = pageBase(`${suite}/${arch}: scheduled and building`, 2, undefined, '');
  return {
    title: base.title, root: base.root, nav: base.nav, asOf: base.asOf,
    suite, arch,
    building: rows.filter((r) => r.claimed_at !== null).map((r) => ({ package: r.package, href: href(r.package), version: r.version, job: r.claimed_by ?? '', since: fmtDate(r.claimed_at) })),
    waiting: rows.filter((r) => r.claimed_at === null).map((r) => ({
      package: r.package, href: href(r.package), version: r.version, priority: r.priority, reason: r.reason, scheduledAt: fmtDate(r.scheduled_at), by: r.scheduled_by,
    })),
    statusesHref: statusHref(root, suite, arch, 'reproducible'),
  };
}

// ---- rb-pkg/<SUITE>/<ARCH>/<PKG>.html --------------------------------------

/** Files the site builder published for a package's current build (hrefs from the site root). */
export interface PackageAssets {
  logs: Map<number, string>;
  reportTxt: string | null;
  reportHtml: string | null;
}

export interface RunView {
  n: number;
  node: string;
  nodeHref: string;
  startedAt: string;
  duration: string;
  exitCode: string;
  result: string;
  variations: { key: string; value: string }[];
  notApplied: { key: string; why: string }[];
  logHref: string | null;
}

export interface PackageView extends PageBase {
  suite: string;
  arch: string;
  name: string;
  version: string;
  status: string;
  cls: string;
  help: string;
  buildDate: string;
  job: string;
  node1: string;
  node2: string;
  duration: string;
  reason: string;
  runs: RunView[];
  reportTxt: string | null;
  reportHtml: string | null;
  history: { date: string; version: string; status: string; cls: string; job: string; nodes: string; duration: string; reason: string }[];
  olderBuilds: number;
  statusHref: string;
  sourceArchitecture: string;
}

function parseJsonObject(text: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return {}; // shown as no variations recorded
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const o = v as Record<string, unknown>;
  for (const k in o) if (typeof o[k] !== 'string') o[k] = String(o[k]);
  return o as Record<string, string>;
}

export function packageView(d: PackageData, assets: PackageAssets): PackageView {
  const root = rootFrom(3);
  const r = d.result;
  const status = r?.status ?? 'untested';
  const runs = (d.current?.runs ?? []).map((run: RunRow) => {
    const vars = parseJsonObject(run.variations);
    const na = parseJsonObject(run.not_applied);
    const log = assets.logs.get(run.build_number);
    return {
      n: run.build_number, node: run.node, nodeHref: `${root}nodes.html#node-${urlSegment(run.node)}`,
      startedAt: fmtDate(run.started_at), duration: fmtDuration(run.duration), exitCode: run.exit_code === null ? '—' : String(run.exit_code), result: run.result,
      variations: orderedKeys(Object.keys(vars)).map((k) => ({ key: k, value: vars[k] ?? '' })),
      notApplied: Object.keys(na).sort().map((k) => ({ key: k, why: na[k] ?? '' })),
      logHref: log ? root + log : null,
    };
  });
  const base = pageBase(`${d.source.name} ${r?.version ?? d.source.version}: ${status} (${d.suite}/${d.arch})`, 3, undefined, '');
  return {
    title: base.title, root: base.root, nav: base.nav, asOf: base.asOf,
    suite: d.suite, arch: d.arch, name: d.source.name, version: r?.version ?? d.source.version,
    status, cls: statusClass(status), help: STATUS_HELP[status] ?? '',
    buildDate: fmtDate(r?.build_date), job: r?.job ?? '—', node1: r?.node1 ?? '—', node2: r?.node2 ?? '—',
    duration: fmtDuration(r?.build_duration), reason: d.current?.reason ?? '',
    runs,
    reportTxt: assets.reportTxt ? root + assets.reportTxt : null,
    reportHtml: assets.reportHtml ? root + assets.reportHtml : null,
    history: d.history.map((b) => ({
      date: fmtDate(b.build_date), version: b.version, status: b.status, cls: statusClass(b.status), job: b.job ?? '—',
      nodes: b.node1 && b.node2 ? `${b.node1}, ${b.node2}` : '—', duration: fmtDuration(b.duration), reason: b.reason ?? '',
    })),
    olderBuilds: Math.max(0, d.builds - d.history.length),
    statusHref: statusHref(root, d.suite, d.arch, status),
    sourceArchitecture: d.source.architecture,
  };
}

// ---- nodes.html --------------------------------------------------------------

export interface NodeView {
  name: string;
  anchor: string;
  arch: string;
  transport: string;
  health: string;
  healthCls: string;
  reason: string;
  lastAttempt: string;
  lastCollected: string;
  stale: boolean;
  offset: string;
  builds24h: number;
  avgDuration: string;
  offline: boolean;
  infoHref: string | null;
}

export interface NodesView extends PageBase {
  nodes: NodeView[];
  intervalText: string;
}

export interface ConfiguredNode {
  name: string;
  transport: string;
  arch: string | null;
  offline: boolean;
  /** the published node-information file, from the site root */
  info: string | null;
}

function isStale(at: string | null | undefined, asOf: string | null, intervalS: number): boolean {
  if (!at) return true;
  if (!asOf) return false;
  return Date.parse(asOf) - Date.parse(at) > intervalS * 1000;
}

export function nodesView(configured: readonly ConfiguredNode[], rows: readonly NodeSiteRow[], stats: readonly NodeBuildStats[], asOf: string | null, intervalS: number): NodesView {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const st = new Map(stats.map((s) => [s.node, s]));
  const names = [...new Set([...configured.map((c) => c.name), ...rows.map((r) => r.name)])].sort();
  const conf = new Map(configured.map((c) => [c.name, c]));
  const base = pageBase('Build nodes: health', 0, asOf, 'nodes');
  return {
    title: base.title, root: base.root, nav: base.nav, asOf: base.asOf,
    intervalText: fmtDuration(intervalS),
    nodes: names.map((name) => {
      const r = byName.get(name);
      const c = conf.get(name);
      const s = st.get(name);
      const health = r?.health ?? 'unknown';
      return {
        name, anchor: `node-${urlSegment(name)}`, arch: c?.arch ?? r?.arch ?? '—', transport: c ? c.transport : 'not configured',
        health, healthCls: `health-${health}`, reason: r?.health_reason ?? '',
        lastAttempt: fmtDate(r?.last_attempt_at), lastCollected: fmtDate(r?.last_collected_at),
        stale: isStale(r?.last_collected_at, asOf, intervalS), offset: fmtOffset(r?.clock_offset_s),
        builds24h: s?.builds_24h ?? 0, avgDuration: fmtDuration(s?.avg_duration_7d), offline: c?.offline ?? false, infoHref: c?.info ?? null,
      };
    }),
  };
}

// ---- variations.html -----------------------------------------------------------

export const FACT_KEYS = ['ARCH', 'NUM_CPU', 'CPU_MODEL', 'KERNEL', 'DATETIME', 'TZ', 'TERM', 'COLUMNS', 'LANG', 'HOSTNAME', 'DOMAINNAME', 'OS'] as const;

/** The builder's variations, in the order of DESIGN.md's table; all but these last two are expected to differ. */
export const VARIATION_ORDER = ['TZ', 'DATE', 'LANG', 'LC_ALL', 'LANGUAGE', 'TERM', 'COLUMNS', 'HOSTNAME', 'DOMAINNAME', 'UMASK', 'BUILD_PATH', 'PATH',
  'CAPTURE_ENVIRONMENT', 'HOME', 'PARALLEL', 'KERNEL', 'NICE'] as const;
const NOT_EXPECTED_TO_VARY = new Set(['KERNEL', 'NICE']);

/** Variation keys in the table's order, unknown ones after, sorted. */
export function orderVariations(keys: Iterable<string>): string[] {
  const seen = new Set(keys);
  const known: readonly string[] = VARIATION_ORDER;
  return [...known.filter((k) => seen.has(k)), ...[...seen].filter((k) => !known.includes(k)).sort()];
}

/**
 * orderVariations of one build's keys, remembered by their sequence: nearly
 * every build records the same keys in the same order, and a package page
 * orders them twice. Callers must not change the array they get.
 */
const orderCache = new Map<string, readonly string[]>();
const ORDER_CACHE_MAX = 1000;
function orderedKeys(keys: string[]): readonly string[] {
  const sig = keys.join('\0');
  let order = orderCache.get(sig);
  if (!order) {
    order = orderVariations(keys);
    if (orderCache.size >= ORDER_CACHE_MAX) orderCache.clear();
    orderCache.set(sig, order);
  }
  return order;
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
      key, v1, v2, applied1: `${a1}/${n1}`, applied2: `${a2}/${n2}`,
      notApplied: [...(reasons.get(key) ?? [])].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([why, n]) => `${why} (${n}×)`),
      differ, expected, flagged,
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

export function variationsView(jobs: readonly JobInput[], varyFacts: readonly string[], recent: number, asOf: string | null, intervalS: number): VariationsView {
  const base = pageBase('Variations: what differs between the two builds', 0, asOf, 'variations');
  return {
    title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, recent, intervalText: fmtDuration(intervalS),
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
      if (!j.facts1 || !j.facts2) flags.push(`no facts collected yet from ${[!j.facts1 ? j.node1 : '', !j.facts2 ? j.node2 : ''].filter(Boolean).join(' and ')}`);
      const stale1 = isStale(j.facts1?.at, asOf, intervalS);
      const stale2 = isStale(j.facts2?.at, asOf, intervalS);

      const summary = j.summary ?? jobVariations(j.runs ?? []);
      flags.push(...summary.flags);
      return {
        name: j.name, anchor: `job-${urlSegment(j.name)}`, node1: j.node1, node2: j.node2,
        node1Href: `nodes.html#node-${urlSegment(j.node1)}`, node2Href: `nodes.html#node-${urlSegment(j.node2)}`,
        collected1: fmtDate(j.facts1?.at), collected2: fmtDate(j.facts2?.at), stale1, stale2,
        facts, variations: summary.variations, builds: summary.builds, flags,
      };
    }),
  };
}

// ---- reproducible.json ---------------------------------------------------------------

/** One row of reproducible.json. */
export function jsonRow(suite: string, arch: string, r: ListRow): string {
  return JSON.stringify({ package: r.package, version: r.version, suite, architecture: arch, status: r.status, build_date: r.build_date });
}

/** One suite and architecture's part of reproducible.json: one row per line, joined by commas, no brackets. */
export function jsonFragment(suite: string, arch: string, rows: readonly ListRow[]): string {
  return rows.map((r) => jsonRow(suite, arch, r)).join(',\n');
}
