/** The view model of nodes.html: every node's health, collection and build figures. */
import type { ChrootRow } from '../db/chroots.js';
import type { NodeBuildStats, NodeSiteRow } from '../db/site.js';
import { fmtDate, fmtDuration, fmtOffset, urlSegment } from './format.js';
import { isStale, pageBase, type PageBase } from './model.js';
import type { TextDiff } from './text-diff.js';

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
  chroots: ChrootView[];
  /** with the chroot backend: the configured suites this node has no chroot of, each with what to run */
  missingChroots: string[];
  /** what changed in its facts since its previous good collection (facts-diff.ts); null: no previous one */
  factChanges: TextDiff | null;
}

export interface ChrootView {
  name: string;
  created: string;
  age: string;
  size: string;
  sha256: string;
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

/** The chroots of the nodes, and the suites each must have one of (none with the plain backend). */
export interface NodeChroots {
  rows: readonly ChrootRow[];
  wanted: readonly string[];
}

function chrootViews(rows: readonly ChrootRow[], asOf: string | null): ChrootView[] {
  const now = asOf ? Date.parse(asOf) : NaN;
  return rows.map((c) => {
    const days = (now - Date.parse(c.created)) / 86400_000;
    return {
      name: `${c.suite}/${c.arch}`,
      created: fmtDate(c.created),
      age: Number.isFinite(days) ? `${Math.max(0, Math.floor(days))} d` : '—',
      size: `${(c.size / 1048576).toFixed(0)} MiB`,
      sha256: c.sha256.slice(0, 12),
    };
  });
}

function missingChroots(name: string, arch: string | null, rows: readonly ChrootRow[], wanted: readonly string[]): string[] {
  if (!arch) return [];
  return wanted
    .filter((suite) => !rows.some((c) => c.suite === suite && c.arch === arch))
    .map((suite) => `no chroot for ${suite}/${arch}: run reprofarm chroot update ${name} --suite ${suite}`);
}

export function nodesView(
  configured: readonly ConfiguredNode[],
  rows: readonly NodeSiteRow[],
  stats: readonly NodeBuildStats[],
  asOf: string | null,
  intervalS: number,
  chroots: NodeChroots = { rows: [], wanted: [] },
  factChanges: ReadonlyMap<string, TextDiff> = new Map(),
): NodesView {
  const chrootsBy = new Map<string, ChrootRow[]>();
  for (const c of chroots.rows) chrootsBy.set(c.node, [...(chrootsBy.get(c.node) ?? []), c]);
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
      const arch = c?.arch ?? r?.arch ?? null;
      const mine = chrootsBy.get(name) ?? [];
      return {
        name,
        anchor: `node-${urlSegment(name)}`,
        arch: arch ?? '—',
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
        chroots: chrootViews(mine, asOf),
        missingChroots: c ? missingChroots(name, arch, mine, chroots.wanted) : [],
        factChanges: factChanges.get(name) ?? null,
      };
    }),
  };
}
