/** The view model of nodes.html: every node's health, collection and build figures. */
import type { NodeBuildStats, NodeSiteRow } from '../db/site.js';
import { fmtDate, fmtDuration, fmtOffset, urlSegment } from './format.js';
import { isStale, pageBase, type PageBase } from './model.js';

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

export function nodesView(
  configured: readonly ConfiguredNode[],
  rows: readonly NodeSiteRow[],
  stats: readonly NodeBuildStats[],
  asOf: string | null,
  intervalS: number,
): NodesView {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const st = new Map(stats.map((s) => [s.node, s]));
  const names = [...new Set([...configured.map((c) => c.name), ...rows.map((r) => r.name)])].sort();
  const conf = new Map(configured.map((c) => [c.name, c]));
  const base = pageBase('Build nodes: health', 0, asOf, 'nodes');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    intervalText: fmtDuration(intervalS),
    nodes: names.map((name) => {
      const r = byName.get(name);
      const c = conf.get(name);
      const s = st.get(name);
      const health = r?.health ?? 'unknown';
      return {
        name,
        anchor: `node-${urlSegment(name)}`,
        arch: c?.arch ?? r?.arch ?? '—',
        transport: c ? c.transport : 'not configured',
        health,
        healthCls: `health-${health}`,
        reason: r?.health_reason ?? '',
        lastAttempt: fmtDate(r?.last_attempt_at),
        lastCollected: fmtDate(r?.last_collected_at),
        stale: isStale(r?.last_collected_at, asOf, intervalS),
        offset: fmtOffset(r?.clock_offset_s),
        builds24h: s?.builds_24h ?? 0,
        avgDuration: fmtDuration(s?.avg_duration_7d),
        offline: c?.offline ?? false,
        infoHref: c?.info ?? null,
      };
    }),
  };
}
