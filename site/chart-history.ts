/**
 * A package's status over its builds, as SVG geometry: one bar per build,
 * oldest first, in its status's colour (charts.ts), and a mark where the
 * version changes. A pure function of the package's history.
 */
import type { BuildRow } from '../db/site.js';
import { STATUS_COLOURS } from './charts.js';
import { fmtDate } from './format.js';

const W = 720;
const H = 64;
const LEFT = 4;
const RIGHT = 4;
const BAR_Y = 22;
const BAR_H = 30;

export interface HistoryChart {
  width: number;
  height: number;
  summary: string;
  bars: { x: number; y: number; w: number; h: number; colour: string; title: string }[];
  /** where a version begins: its first build's bar */
  versions: { x: number; label: string }[];
  legend: { status: string; colour: string; n: number }[];
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** `history`: newest first, as PackageData has it. */
export function historyChart(history: readonly BuildRow[]): HistoryChart | null {
  if (history.length === 0) return null;
  const builds = [...history].reverse();
  const step = (W - LEFT - RIGHT) / builds.length;
  const w = Math.max(1, step * 0.85);
  const counts = new Map<string, number>();
  const versions: HistoryChart['versions'] = [];
  const bars = builds.map((b, i) => {
    counts.set(b.status, (counts.get(b.status) ?? 0) + 1);
    const x = round(LEFT + i * step);
    if (i === 0 || builds[i - 1]?.version !== b.version) versions.push({ x, label: b.version });
    return { x, y: BAR_Y, w: round(w), h: BAR_H, colour: STATUS_COLOURS[b.status] ?? '#888888', title: `${fmtDate(b.build_date)}: ${b.version} ${b.status}` };
  });
  // a version label wider than the room to the next is left out (the bar's title still names it)
  const shown = versions.filter((v, i) => i === versions.length - 1 || (versions[i + 1]?.x ?? W) - v.x >= 7 * Math.min(v.label.length, 24));
  const legend = [...counts].map(([status, n]) => ({ status, colour: STATUS_COLOURS[status] ?? '#888888', n }));
  const first = builds[0];
  const last = builds[builds.length - 1];
  return {
    width: W,
    height: H,
    summary: `${builds.length} builds of ${versions.length} versions from ${fmtDate(first?.build_date)} to ${fmtDate(last?.build_date)}: ${legend.map((l) => `${l.n} ${l.status}`).join(', ')}`,
    bars,
    versions: shown.map((v) => ({ x: v.x, label: v.label.length > 24 ? `${v.label.slice(0, 23)}…` : v.label })),
    legend,
  };
}
