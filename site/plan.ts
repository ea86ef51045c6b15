/**
 * The first phase of a render: full or incremental, and which package pages.
 * A full render (asked for, or the last one's pages can not be trusted to
 * be what this code and configuration would write) renders every current
 * source of every suite/arch; an incremental one, the packages the DB's
 * change log names since the last render.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import type { SiteReader } from '../db/site.js';
import { suiteArchKey, type SitePaths, type SuiteArch } from './context.js';
import { JsonCache } from './json-cache.js';
import { CHART_DAYS } from './model-dashboard.js';
import { templatesHash } from './render.js';

/** What a render leaves for the next one: `.reprofarm/state.json`. */
export interface SiteState {
  version: 1;
  /** RENDERING of the render that wrote the pages (absent before 2) */
  rendering?: number;
  templates: string;
  settings: string;
  /** the change log's number it rendered up to */
  seq: number;
}

/**
 * Raised when this code renders the same DB and templates into other bytes, so
 * that the next render is a full one (else the pages it does not touch keep the
 * old bytes). 2: controls and bidi controls shown as `\u202e` (format.ts); 3: FTBR rows
 * with their culprits, the culprit pages, a Culprits link on every page; 4: each package's
 * attestations and api/v1 JSON, the page's link to them; 5: notes on package pages, the
 * notes pages in each suite/arch's nav, the maintainer pages, the package set pages, Issues,
 * Maintainers and Sets links on every page; 6: the breakages caches in their compact layout
 * with a summary (breakages-cache.ts); 7: the breakages findings as sorted lines, spliced;
 * 8: a notes comment's newlines as &#10; (a notes list row is one line, spliced); 9: an
 * issue page's rows by package, then suite and architecture (spliced).
 */
export const RENDERING = 9;

export function siteState(paths: SitePaths): JsonCache<SiteState> {
  return new JsonCache<SiteState>(
    join(paths.bookkeepingDir, 'state.json'),
    (v) => v.version === 1 && typeof v.seq === 'number' && typeof v.templates === 'string' && typeof v.settings === 'string',
    { newline: true },
  );
}

/** What the pages are made with besides the DB: when either changes, every page is rendered again. */
export interface Fingerprint {
  templates: string;
  settings: string;
}

export function fingerprint(config: Config): Fingerprint {
  return { templates: templatesHash(), settings: settingsHash(config) };
}

function settingsHash(config: Config): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        suites: config.suites,
        arches: config.architectures,
        stateDir: config.stateDir,
        nodes: [...config.nodes.values()].map((n) => [n.name, n.transport, n.host, n.port, n.user, n.arch ?? null, n.offline]),
        jobs: [...config.jobs.values()].map((j) => [j.name, j.nodes]),
        site: config.site,
        interval: config.collect.interval,
        chartDays: CHART_DAYS,
      }),
    )
    .digest('hex');
}

/** A suite/arch's package pages to render. */
export interface SuiteArchPackages extends SuiteArch {
  /** sorted */
  names: string[];
}

export interface RenderPlan {
  mode: 'full' | 'incremental';
  /** why full, or the changes an incremental render covers */
  why: string;
  full: boolean;
  /** the change log's number this render renders up to, and the one the last render did (0: none) */
  seq: number;
  from: number;
  /** the DB's newest timestamp: the pages' "now" */
  asOf: string | null;
  /** by suiteArchKey; on an incremental render, only the suites/arches with changes */
  todo: Map<string, SuiteArchPackages>;
  /** package pages in todo */
  pages: number;
}

/** Plan a render; inside the render's snapshot, so that the plan and the pages see the same DB. */
export function planRender(reader: SiteReader, config: Config, forceFull: boolean, last: SiteState | undefined, now: Fingerprint): RenderPlan {
  const seq = reader.changeSeq();
  const why = whyFull(reader, forceFull, last, now, seq);
  const full = why !== '';
  const todo = full ? everyPackage(reader, config) : changedPackages(reader, config, last?.seq ?? 0, seq);
  return {
    mode: full ? 'full' : 'incremental',
    why: full ? why : `changes ${last?.seq ?? 0}..${seq}`,
    full,
    seq,
    from: full ? 0 : (last?.seq ?? 0),
    asOf: reader.asOf(),
    todo,
    pages: [...todo.values()].reduce((n, u) => n + u.names.length, 0),
  };
}

/** Why the last render's pages cannot be kept ('': they can). */
function whyFull(reader: SiteReader, forceFull: boolean, last: SiteState | undefined, now: Fingerprint, seq: number): string {
  if (forceFull) return '--full';
  if (!last) return 'no previous render in this site_dir';
  if ((last.rendering ?? 1) !== RENDERING) return 'this reprofarm renders pages differently';
  if (last.templates !== now.templates) return 'the templates changed';
  if (last.settings !== now.settings) return 'the configuration changed';
  if (last.seq < reader.prunedThrough() || last.seq > seq) return "the DB's change log does not continue from the last render";
  return '';
}

function everyPackage(reader: SiteReader, config: Config): Map<string, SuiteArchPackages> {
  const todo = new Map<string, SuiteArchPackages>();
  for (const suite of config.suites) {
    const names = reader.sourceNames(suite);
    for (const arch of config.architectures) todo.set(suiteArchKey(suite, arch), { suite, arch, names });
  }
  return todo;
}

/** The packages the change log names after `from` up to `to`, of configured suites/arches (a change of a source: every arch). */
function changedPackages(reader: SiteReader, config: Config, from: number, to: number): Map<string, SuiteArchPackages> {
  const suites = new Set(config.suites);
  const arches = new Set(config.architectures);
  const sets = new Map<string, { suite: string; arch: string; names: Set<string> }>();
  for (const c of reader.changesBetween(from, to)) {
    if (!suites.has(c.suite) || (c.arch !== null && !arches.has(c.arch))) continue;
    for (const arch of c.arch === null ? config.architectures : [c.arch]) {
      const k = suiteArchKey(c.suite, arch);
      let s = sets.get(k);
      if (!s) sets.set(k, (s = { suite: c.suite, arch, names: new Set() }));
      s.names.add(c.package);
    }
  }
  return new Map([...sets].map(([k, s]) => [k, { suite: s.suite, arch: s.arch, names: [...s.names].sort() }]));
}
