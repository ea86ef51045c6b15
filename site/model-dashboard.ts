/** The view model of index.html, the dashboard: per suite/arch, its counts per status and its two charts. */
import { ATTESTATION_SITE_LAYOUT } from '../attest/site-layout.js';
import { STATUSES } from '../core/statuses.js';
import { buildsPerDay, dayRange, reproducibleShare, STATUS_COLOURS, type BarsChart, type LineChart, type PastBars } from './charts.js';
import { percent, statusClass } from './format.js';
import { pageBase, scheduledHref, statusHref, STATUS_HELP, type PageBase } from './model.js';

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
  /** whether the farm signs its verdicts: keys/reprofarm.pub is published (site/attestations.ts) */
  signed: boolean;
  keyHref: string;
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

export interface SuiteArchCharts {
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
export function suiteArchCharts(daily: Parameters<typeof buildsPerDay>[0], asOf: string | null, kept?: PastBars): SuiteArchCharts {
  const days = dayRange(lastChartDay(asOf), CHART_DAYS);
  return { builds: buildsPerDay(daily, days, STATUSES, kept), share: reproducibleShare(daily, days) };
}

export const CHART_DAYS = 365;

export function indexView(inputs: readonly SuiteArchInput[], asOf: string | null, signed = false): IndexView {
  const base = pageBase('Reproducible builds: dashboard', 0, asOf, 'index');
  const sections = inputs.map((i) => {
    let tested = 0;
    for (const [s, n] of i.counts) if (s !== 'untested') tested += n;
    const counts = new Map(i.counts);
    counts.set('untested', Math.max(0, i.known - tested) + (i.counts.get('untested') ?? 0));
    const total = Math.max(i.known, tested);
    const rows = STATUSES.map((s) => ({
      status: s,
      cls: statusClass(s),
      n: counts.get(s) ?? 0,
      pct: percent(counts.get(s) ?? 0, total),
      href: statusHref(base.root, i.suite, i.arch, s),
      help: STATUS_HELP[s] ?? '',
      colour: STATUS_COLOURS[s] ?? '#888888',
    }));
    return {
      suite: i.suite,
      arch: i.arch,
      total,
      rows,
      building: i.building,
      waiting: i.waiting,
      scheduledHref: scheduledHref(base.root, i.suite, i.arch),
      reproduciblePct: percent(counts.get('reproducible') ?? 0, total),
      ...(i.chartsHtml ? { chartsHtml: i.chartsHtml } : suiteArchCharts(i.daily ?? [], asOf)),
    };
  });
  return { title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, sections, signed, keyHref: base.root + ATTESTATION_SITE_LAYOUT.publicKey };
}
