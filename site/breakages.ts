/**
 * breakages.html: what is wrong with the farm's records, each with how to
 * mend it. One table of checks (CHECKS): its name, how it looks (a query of
 * the DB, or the files a package page publishes), and the advice.
 *
 * Cost stays bounded at Debian scale: the DB checks read an index or a small
 * table on every render; the file checks hash nothing: they are what
 * publishing a package page's build logs and diffoscope report found missing
 * (one stat each, made anyway), kept per suite/arch under
 * `.reprofarm/json/<suite>_<arch>.broken.jsonl` for the packages that were not
 * rendered this time (a full render makes it again); the work orders under
 * `state_dir/builds/` are few (what is in flight) and read every time.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import { shJoin } from '../core/shell.js';
import { claimedKeys, nodeCollections, oldClaims, resultsOfRemoved } from '../db/breakages.js';
import type { FarmDb } from '../db/index.js';
import type { PackageData } from '../db/site.js';
import { isStale, packageHref, pageBase, type PageBase } from './model.js';
import type { PackageAssets } from './model-package.js';

/** One thing found wrong. */
export interface Finding {
  check: string;
  /** what it is about, as people name it: `hello 2.10-3 bookworm/amd64`, a node, a file under state_dir */
  subject: string;
  detail: string;
  /** the package it is of, when it is of one */
  pkg?: { suite: string; arch: string; name: string; version: string };
  node?: string;
}

/** What the checks read. */
export interface BreakageInput {
  config: Config;
  db: FarmDb;
  asOf: string | null;
  /** the file findings of every suite/arch's packages (from the package pages), the first of each check */
  packageFindings: readonly Finding[];
  /** by check: how many more file findings there are than packageFindings holds */
  unlisted?: ReadonlyMap<string, number>;
}

export interface Check {
  name: string;
  title: string;
  /** how it is checked, for the page and the docs */
  how: string;
  find: (i: BreakageInput) => Finding[];
  /** the exact command or action that mends it */
  advice: (f: Finding, config: Config) => string;
}

const rebuild = (f: Finding): string => (f.pkg ? shJoin(['reprofarm', 'schedule', f.pkg.suite, f.pkg.arch, f.pkg.name]) : 'reprofarm schedule SUITE ARCH PKG');

export const CHECKS: readonly Check[] = [
  {
    name: 'missing-log',
    title: 'Current results whose build log is missing',
    how: "the build.log of each current build's two runs under state_dir/results/, looked for when its package page is rendered",
    find: (i) => i.packageFindings.filter((f) => f.check === 'missing-log'),
    advice: (f) => `${rebuild(f)} (a new build brings its logs)`,
  },
  {
    name: 'missing-report',
    title: 'Current FTBR results whose diffoscope report is missing',
    how: 'the report path the build recorded, under state_dir/reports/, looked for when its package page is rendered',
    find: (i) => i.packageFindings.filter((f) => f.check === 'missing-report'),
    advice: (f) => `${rebuild(f)} (a new build compares again and writes its report)`,
  },
  {
    name: 'stale-claim',
    title: 'Builds claimed longer ago than both build timeouts',
    how: "schedule rows claimed more than build.timeout_build1 + build.timeout_build2 + 1 h before the DB's newest timestamp",
    find: (i) => {
      if (!i.asOf) return [];
      const limitS = i.config.build.timeout1 + i.config.build.timeout2 + 3600;
      return oldClaims(i.db, new Date(Date.parse(i.asOf) - limitS * 1000).toISOString()).map((r) => pkgFinding('stale-claim', r, r.detail));
    },
    advice: () => 'reprofarm cleanup (cleans its nodes and gives the claim back to the schedule)',
  },
  {
    name: 'left-suite',
    title: 'Results of packages that left their suite',
    how: 'results rows of the configured architectures whose source the last sync marked removed',
    find: (i) => resultsOfRemoved(i.db, i.config.architectures).map((r) => pkgFinding('left-suite', r, r.detail)),
    advice: (f) =>
      `${shJoin(['reprofarm', 'sync', f.pkg?.suite ?? 'SUITE'])} if the mirror lists it again; else nothing: the row is kept as history and shown on no page`,
  },
  {
    name: 'stale-facts',
    title: 'Nodes whose facts are stale',
    how: "each configured node's last good collection, older than collect.interval before the DB's newest timestamp (or none)",
    find: (i) => {
      const known = new Map(nodeCollections(i.db).map((n) => [n.name, n]));
      return [...i.config.nodes.values()]
        .filter((n) => !n.offline && isStale(known.get(n.name)?.last_collected_at, i.asOf, i.config.collect.interval))
        .map((n) => {
          const k = known.get(n.name);
          const detail = k?.last_collected_at ? `last collected ${k.last_collected_at}, health ${k.health}` : 'never collected';
          return { check: 'stale-facts', subject: n.name, detail, node: n.name };
        });
    },
    advice: (f) => `${shJoin(['reprofarm', 'collect', f.node ?? 'NODE'])} (and see nodes.html for why the last one failed)`,
  },
  {
    name: 'orphan-order',
    title: 'Work orders no claim holds',
    how: 'the files under state_dir/builds/NODE/SUITE/ARCH/PKG/VERSION (what is in flight) against the claims in the DB',
    find: (i) => orphanOrders(i.config.stateDir, claimedKeys(i.db)),
    advice: () => 'reprofarm cleanup (removes them, and cleans what their builds left on the nodes)',
  },
];

export function pkgFinding(check: string, r: { suite: string; arch: string; package: string; version: string }, detail: string): Finding {
  return {
    check,
    subject: `${r.package} ${r.version} ${r.suite}/${r.arch}`,
    detail,
    pkg: { suite: r.suite, arch: r.arch, name: r.package, version: r.version },
  };
}

function dirs(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

/** builds/NODE/SUITE/ARCH/PKG/VERSION files of no claim (a dot name is a write in progress). */
function orphanOrders(stateDir: string, held: ReadonlySet<string>): Finding[] {
  const root = STATE_LAYOUT.builds(stateDir);
  const out: Finding[] = [];
  for (const node of dirs(root))
    for (const suite of dirs(join(root, node)))
      for (const arch of dirs(join(root, node, suite)))
        for (const p of dirs(join(root, node, suite, arch)))
          for (const version of dirs(join(root, node, suite, arch, p))) {
            if (version.startsWith('.') || held.has(`${suite}/${arch}/${p}/${version}`)) continue;
            out.push({ check: 'orphan-order', subject: `builds/${node}/${suite}/${arch}/${p}/${version}`, detail: `no claim holds ${p} ${version}`, node });
          }
  return out;
}

/** What publishing a package page's files found missing (publishAssets): its file findings. */
export function packageFileFindings(d: PackageData, assets: PackageAssets): Finding[] {
  const cur = d.current;
  if (!cur || d.result?.build_id !== cur.id) return [];
  const r = { suite: d.suite, arch: d.arch, package: d.source.name, version: cur.version };
  const out: Finding[] = [];
  for (const run of cur.runs)
    if (!assets.logs.has(run.build_number)) out.push(pkgFinding('missing-log', r, `build ${run.build_number} on ${run.node}: no build.log`));
  if (cur.report && !assets.reportTxt) out.push(pkgFinding('missing-report', r, 'the diffoscope report it recorded is not there'));
  return out;
}

/** Rows shown per check; the rest are counted. */
export const SHOWN_PER_CHECK = 200;

export interface BreakagesView extends PageBase {
  total: number;
  checks: {
    name: string;
    title: string;
    how: string;
    count: number;
    more: number;
    rows: { subject: string; href: string; detail: string; advice: string }[];
  }[];
}

export function breakagesView(input: BreakageInput): BreakagesView {
  const base = pageBase('Breakages', 0, input.asOf, 'breakages');
  const checks = CHECKS.map((c) => {
    const found = c.find(input);
    return {
      name: c.name,
      title: c.title,
      how: c.how,
      count: found.length + (input.unlisted?.get(c.name) ?? 0),
      more: Math.max(0, found.length + (input.unlisted?.get(c.name) ?? 0) - SHOWN_PER_CHECK),
      rows: found.slice(0, SHOWN_PER_CHECK).map((f) => ({
        subject: f.subject,
        href:
          f.pkg && f.check.startsWith('missing-')
            ? packageHref('./', f.pkg.suite, f.pkg.arch, f.pkg.name)
            : f.node
              ? `./nodes.html#node-${encodeURIComponent(f.node)}`
              : '',
        detail: f.detail,
        advice: c.advice(f, input.config),
      })),
    };
  });
  return { title: base.title, root: base.root, nav: base.nav, asOf: base.asOf, total: checks.reduce((n, c) => n + c.count, 0), checks };
}
