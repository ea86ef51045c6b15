/** The view model of a package page, `rb-pkg/<SUITE>/<ARCH>/<PKG>.html`. */
import { ATTESTATION_SITE_LAYOUT } from '../attest/site-layout.js';
import type { PackageData, RunRow } from '../db/site.js';
import { fmtDate, fmtDuration, rootFrom, statusClass, urlSegment } from './format.js';
import { bugHref, issueHref, pageBase, parseJsonObject, statusHref, STATUS_HELP, type PageBase } from './model.js';
import { historyChart, type HistoryChart } from './chart-history.js';
import { culpritView, type CulpritView } from './model-package-culprit.js';
import type { TextDiff } from './text-diff.js';
import { orderVariations } from './model-variations.js';

/** Files the site builder published for a package's current build (hrefs from the site root). */
export interface PackageAssets {
  logs: Map<number, string>;
  reportTxt: string | null;
  reportHtml: string | null;
  /** an FTBR's diff of its two builds' .buildinfo files (buildinfo-diff.ts), when both are there */
  buildinfo?: TextDiff | null;
  /** the signed attestations of the current version (site/attestations.ts), when the farm signs */
  attestation?: string | null;
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
  /** a depwait's unsatisfiable build dependencies, as apt named them; '' otherwise */
  unmet: string;
  runs: RunView[];
  reportTxt: string | null;
  reportHtml: string | null;
  /** the current version's signed attestations and the key to check them with */
  attestation: { href: string; keyHref: string } | null;
  history: { date: string; version: string; status: string; cls: string; job: string; nodes: string; duration: string; reason: string }[];
  olderBuilds: number;
  statusHref: string;
  sourceArchitecture: string;
  /** an FTBR's culprit verdict and its evidence, when a search of its version was recorded */
  culprit: CulpritView | null;
  /** the package's reproducible-notes entry; `outdated`: written for another version than this one */
  note: { version: string | null; outdated: boolean; issues: { name: string; href: string }[]; bugs: { n: number; href: string }[]; comments: string } | null;
  /** what changed: the status of each build (an SVG), and an FTBR's .buildinfo diff */
  changes: { chart: HistoryChart | null; buildinfo: TextDiff | null };
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

export function packageView(d: PackageData, assets: PackageAssets): PackageView {
  const root = rootFrom(3);
  const r = d.result;
  const status = r?.status ?? 'untested';
  const runs = (d.current?.runs ?? []).map((run: RunRow) => {
    const vars = parseJsonObject(run.variations);
    const na = parseJsonObject(run.not_applied);
    const log = assets.logs.get(run.build_number);
    return {
      n: run.build_number,
      node: run.node,
      nodeHref: `${root}nodes.html#node-${urlSegment(run.node)}`,
      startedAt: fmtDate(run.started_at),
      duration: fmtDuration(run.duration),
      exitCode: run.exit_code === null ? '—' : String(run.exit_code),
      result: run.result,
      variations: orderedKeys(Object.keys(vars)).map((k) => ({ key: k, value: vars[k] ?? '' })),
      notApplied: Object.keys(na)
        .sort()
        .map((k) => ({ key: k, why: na[k] ?? '' })),
      logHref: log ? root + log : null,
    };
  });
  const base = pageBase(`${d.source.name} ${r?.version ?? d.source.version}: ${status} (${d.suite}/${d.arch})`, 3, undefined, '');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    suite: d.suite,
    arch: d.arch,
    name: d.source.name,
    version: r?.version ?? d.source.version,
    status,
    cls: statusClass(status),
    help: STATUS_HELP[status] ?? '',
    buildDate: fmtDate(r?.build_date),
    job: r?.job ?? '—',
    node1: r?.node1 ?? '—',
    node2: r?.node2 ?? '—',
    duration: fmtDuration(r?.build_duration),
    reason: d.current?.reason ?? '',
    unmet: status === 'depwait' ? (d.current?.unmet ?? '') : '',
    runs,
    reportTxt: assets.reportTxt ? root + assets.reportTxt : null,
    reportHtml: assets.reportHtml ? root + assets.reportHtml : null,
    attestation: assets.attestation ? { href: root + assets.attestation, keyHref: root + ATTESTATION_SITE_LAYOUT.publicKey } : null,
    history: d.history.map((b) => ({
      date: fmtDate(b.build_date),
      version: b.version,
      status: b.status,
      cls: statusClass(b.status),
      job: b.job ?? '—',
      nodes: b.node1 && b.node2 ? `${b.node1}, ${b.node2}` : '—',
      duration: fmtDuration(b.duration),
      reason: b.reason ?? '',
    })),
    olderBuilds: Math.max(0, d.builds - d.history.length),
    statusHref: statusHref(root, d.suite, d.arch, status),
    sourceArchitecture: d.source.architecture,
    culprit:
      d.culprit && status === 'FTBR' ? culpritView(d.culprit, root, d.suite, d.arch, { noted: d.note?.issues ?? [], known: d.issues ?? new Set() }) : null,
    note: d.note
      ? {
          version: d.note.version,
          outdated: d.note.version !== null && d.note.version !== (r?.version ?? d.source.version),
          issues: d.note.issues.map((i) => ({ name: i, href: issueHref(root, i) })),
          bugs: d.note.bugs.map((n) => ({ n, href: bugHref(n) })),
          comments: d.note.comments ?? '',
        }
      : null,
    changes: { chart: historyChart(d.history), buildinfo: assets.buildinfo ?? null },
  };
}
