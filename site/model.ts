/**
 * View models: pure functions from DB rows (and a few facts about files) to
 * what each template shows. No I/O, no clock: "now" is the DB's newest
 * timestamp, so the same DB gives the same pages. This module holds what
 * every page shares (the page's frame, links, status help); each page has a
 * module of its own: model-dashboard.ts, model-status.ts (the status,
 * schedule and JSON rows of a suite/arch), model-package.ts, model-nodes.ts,
 * model-variations.ts, model-culprits.ts (culprits.html).
 */
import { fmtDate, rootFrom, urlSegment } from './format.js';
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

/** culprits.html, at a suite/arch's section when one is given. */
export function culpritsHref(root: string, suite?: string, arch?: string): string {
  return `${root}culprits.html${suite && arch ? `#${urlSegment(suite)}-${urlSegment(arch)}` : ''}`;
}

/** A notes issue's page (names are checked by notes/parse.ts: safe as a file name). */
export function issueHref(root: string, issue: string): string {
  return `${root}issues/${urlSegment(issue)}.html`;
}

/** A bug a note names, in Debian's bug tracker. */
export function bugHref(bug: number): string {
  return `https://bugs.debian.org/${bug}`;
}

export function scheduledHref(root: string, suite: string, arch: string): string {
  return `${root}${urlSegment(suite)}/${urlSegment(arch)}/index_scheduled.html`;
}

/**
 * What every page has. Views name these four fields rather than spread the
 * object into theirs: V8 builds an object spread into a literal with many
 * more properties on a slow path, and a package page is made tens of
 * thousands of times per render.
 */
export function pageBase(title: string, depth: number, asOf: string | null | undefined, current: string): PageBase {
  const root = rootFrom(depth);
  const nav = [
    { href: `${root}index.html`, label: 'Dashboard', id: 'index' },
    { href: `${root}variations.html`, label: 'Variations', id: 'variations' },
    { href: `${root}nodes.html`, label: 'Nodes', id: 'nodes' },
    { href: `${root}culprits.html`, label: 'Culprits', id: 'culprits' },
    { href: `${root}breakages.html`, label: 'Breakages', id: 'breakages' },
    { href: `${root}issues/index.html`, label: 'Issues', id: 'issues' },
    { href: `${root}maintainers/index.html`, label: 'Maintainers', id: 'maintainers' },
    { href: `${root}sets/index.html`, label: 'Sets', id: 'sets' },
    { href: `${root}reproducible.json`, label: 'JSON', id: 'json' },
  ].map((l) => ({ href: l.href, label: l.label, current: l.id === current }));
  return { title, root, nav, asOf: asOf === undefined ? null : asOf ? fmtDate(asOf) : 'no data yet' };
}

export function parseJsonObject(text: string): Record<string, string> {
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

export function isStale(at: string | null | undefined, asOf: string | null, intervalS: number): boolean {
  if (!at) return true;
  if (!asOf) return false;
  return Date.parse(asOf) - Date.parse(at) > intervalS * 1000;
}
