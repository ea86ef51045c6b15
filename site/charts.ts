/**
 * Charts drawn at build time as SVG geometry (no JavaScript needed to read
 * them): d3's scales and shapes compute the coordinates and paths, the
 * templates draw them. Pure functions of the daily rows.
 */
import { scaleBand, scaleLinear, scaleTime } from 'd3-scale';
import { line } from 'd3-shape';
import { createHash } from 'node:crypto';
import type { DailyRow } from '../db/site.js';
import { escapeHtml } from './format.js';

export const CHART = { width: 720, height: 220, left: 44, right: 12, top: 12, bottom: 28 } as const;

/** Colour per status, shared with the stylesheet's legend. */
export const STATUS_COLOURS: Record<string, string> = {
  reproducible: '#2e8b57',
  FTBR: '#d9822b',
  FTBFS: '#c23030',
  depwait: '#8a6d3b',
  E404: '#7a5195',
  'source-mismatch': '#b8336a',
  timeout: '#5c7080',
  NFU: '#a7b6c2',
  blacklisted: '#394b59',
  untested: '#cccccc',
};

export interface Tick {
  x: number;
  y: number;
  label: string;
}

export interface BarRect {
  x: number;
  y: number;
  w: number;
  h: number;
  colour: string;
  title: string;
}

export interface ChartGeometry {
  width: number;
  height: number;
  /** days covered, oldest first */
  from: string;
  to: string;
  xTicks: Tick[];
  yTicks: Tick[];
  /** plot area */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  empty: boolean;
  summary: string;
}

export interface BarsChart extends ChartGeometry {
  /** the bars drawn by this call: every day's, or the last day's when the others' were kept (PastBars) */
  bars: BarRect[];
  /** every day's bars as SVG, in day order */
  barsHtml: string;
  /** the bars before the last day, as SVG, and what they were drawn from: kept for the next drawing */
  past: PastBars;
  legend: { status: string; colour: string; total: number }[];
}

/**
 * The bars of every day but the last, drawn once: a new build changes the last day's bar, and
 * the others stay the same while `key` does (the days, the y scale and the rows of those days).
 */
export interface PastBars {
  key: string;
  html: string;
}

export interface LineChart extends ChartGeometry {
  path: string;
  points: { x: number; y: number; title: string }[];
}

const DAY_MS = 86_400_000;

/** The `days` days ending with `lastDay` (YYYY-MM-DD), oldest first. */
export function dayRange(lastDay: string, days: number): string[] {
  const end = Date.parse(`${lastDay}T00:00:00Z`);
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(new Date(end - i * DAY_MS).toISOString().slice(0, 10));
  return out;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function frame(
  days: string[],
  maxY: number,
  yFormat: (v: number) => string,
  integers = false,
): ChartGeometry & { x: (d: string) => number; bandW: number; y: (v: number) => number } {
  const { width, height, left, right, top, bottom } = CHART;
  const band = scaleBand<string>()
    .domain(days)
    .range([left, width - right])
    .paddingInner(0.15);
  const y = scaleLinear()
    .domain([0, maxY > 0 ? maxY : 1])
    .nice(4)
    .range([height - bottom, top]);
  const time = scaleTime().domain([new Date(`${days[0] ?? '1970-01-01'}T00:00:00Z`), new Date(`${days[days.length - 1] ?? '1970-01-01'}T00:00:00Z`)]);
  const ticks = time.ticks(Math.min(8, days.length));
  const xTicks: Tick[] = ticks
    .map((t) => {
      const d = t.toISOString().slice(0, 10);
      const x = band(d);
      return { x: round((x ?? left) + band.bandwidth() / 2), y: height - bottom + 16, label: d.slice(5) === '01-01' ? d.slice(0, 4) : d.slice(5) };
    })
    .filter((t, i, a) => i === 0 || (a[i - 1] as Tick).x < t.x);
  const yTicks: Tick[] = y
    .ticks(4)
    .filter((v) => !integers || Number.isInteger(v))
    .map((v) => ({ x: left - 6, y: round(y(v)), label: yFormat(v) }));
  return {
    width,
    height,
    from: days[0] ?? '',
    to: days[days.length - 1] ?? '',
    xTicks,
    yTicks,
    x0: left,
    x1: width - right,
    y0: height - bottom,
    y1: top,
    empty: maxY === 0,
    summary: '',
    x: (d) => band(d) ?? left,
    bandW: band.bandwidth(),
    y: (v) => y(v),
  };
}

/** One bar as the chart draws it. */
function barHtml(b: BarRect): string {
  return `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" fill="${escapeHtml(b.colour)}"><title>${escapeHtml(b.title)}</title></rect>\n`;
}

/** Builds per day, stacked by status; `kept`: the last drawing's PastBars, used again if its key is this one's. */
export function buildsPerDay(rows: readonly DailyRow[], days: readonly string[], statusOrder: readonly string[], kept?: PastBars): BarsChart {
  const perDay = new Map<string, Map<string, number>>();
  const totals = new Map<string, number>();
  const lastDay = days[days.length - 1] ?? '';
  const pastRows = createHash('sha256');
  for (const r of rows) {
    if (r.day < lastDay) pastRows.update(`${r.day}\0${r.status}\0${r.n}\n`);
    let m = perDay.get(r.day);
    if (!m) perDay.set(r.day, (m = new Map<string, number>()));
    m.set(r.status, (m.get(r.status) ?? 0) + r.n);
    totals.set(r.status, (totals.get(r.status) ?? 0) + r.n);
  }
  let max = 0;
  for (const d of days) {
    let sum = 0;
    for (const n of perDay.get(d)?.values() ?? []) sum += n;
    max = Math.max(max, sum);
  }
  const f = frame([...days], max, (v) => String(v), true);
  const bars: BarRect[] = [];
  const order = [...statusOrder, ...[...totals.keys()].filter((s) => !statusOrder.includes(s)).sort()];
  // (the scale's domain after nice(): a new maximum within it moves no bar)
  const key = createHash('sha256')
    .update(JSON.stringify([days[0], lastDay, days.length, f.y(0), f.y(1), order]))
    .update(pastRows.digest())
    .digest('hex');
  const reuse = kept?.key === key;
  let pastHtml = reuse ? kept.html : '';
  let lastHtml = '';
  for (const d of days) {
    if (reuse && d < lastDay) continue;
    const m = perDay.get(d);
    if (!m) continue;
    let acc = 0;
    for (const s of order) {
      const n = m.get(s);
      if (!n) continue;
      const yTop = f.y(acc + n);
      const yBottom = f.y(acc);
      const bar: BarRect = {
        x: round(f.x(d)),
        y: round(yTop),
        w: round(Math.max(f.bandW, 0.5)),
        h: round(Math.max(yBottom - yTop, 0.5)),
        colour: STATUS_COLOURS[s] ?? '#888888',
        title: `${d}: ${n} ${s}`,
      };
      bars.push(bar);
      if (d < lastDay) pastHtml += barHtml(bar);
      else lastHtml += barHtml(bar);
      acc += n;
    }
  }
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  const legend = order.filter((s) => totals.has(s)).map((s) => ({ status: s, colour: STATUS_COLOURS[s] ?? '#888888', total: totals.get(s) ?? 0 }));
  return {
    ...strip(f),
    bars,
    barsHtml: pastHtml + lastHtml,
    past: { key, html: pastHtml },
    legend,
    summary: `${total} builds from ${f.from} to ${f.to}, at most ${max} a day`,
  };
}

/** The share of each day's builds that were reproducible, in percent; days without builds are gaps. */
export function reproducibleShare(rows: readonly DailyRow[], days: readonly string[]): LineChart {
  const repro = new Map<string, number>();
  const all = new Map<string, number>();
  for (const r of rows) {
    all.set(r.day, (all.get(r.day) ?? 0) + r.n);
    if (r.status === 'reproducible') repro.set(r.day, (repro.get(r.day) ?? 0) + r.n);
  }
  const f = frame([...days], all.size > 0 ? 100 : 0, (v) => `${v}%`);
  const pts = days.map((d) => {
    const n = all.get(d);
    return { d, share: n ? (100 * (repro.get(d) ?? 0)) / n : null, n: n ?? 0 };
  });
  // days without builds are skipped: the line joins the days that had some
  const gen = line<{ d: string; share: number | null }>()
    .x((p) => round(f.x(p.d) + f.bandW / 2))
    .y((p) => round(f.y(p.share ?? 0)));
  const path = gen(pts.filter((p) => p.share !== null)) ?? '';
  const points = pts
    .filter((p) => p.share !== null)
    .map((p) => ({
      x: round(f.x(p.d) + f.bandW / 2),
      y: round(f.y(p.share ?? 0)),
      title: `${p.d}: ${(p.share ?? 0).toFixed(1)}% of ${p.n} builds reproducible`,
    }));
  const shares = pts.filter((p) => p.share !== null).map((p) => p.share as number);
  const last = shares[shares.length - 1];
  return {
    ...strip(f),
    path,
    points: points.length <= 60 ? points : [],
    summary: shares.length === 0 ? 'no builds in this period' : `reproducible share of each day's builds, ${f.from} to ${f.to}; latest ${last?.toFixed(1)}%`,
  };
}

function strip(f: ChartGeometry & { x: unknown; bandW: unknown; y: unknown }): ChartGeometry {
  const { x: _x, bandW: _b, y: _y, ...rest } = f;
  return rest;
}
