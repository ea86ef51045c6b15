/**
 * An FTBR's culprit verdict as the site shows it (issue 18): the culprit
 * column of the FTBR pages, the groups packages are filtered by (one page
 * per group, `<SUITE>/<ARCH>/index_FTBR_culprit_<GROUP>.html`), and the
 * fields of reproducible.json. A group is a variation key (the package's
 * culprits, one group each) or what the search says otherwise. Pure.
 */
import { VARIATIONS, VARIATION_KEYS } from '../core/protocol.js';
import type { ListRow } from '../db/site.js';
import { escapeHtml } from './format.js';

/** The groups that are not a variation: no culprit found, none yet, no search. Lower case: never a variation key. */
export const VERDICT_GROUPS = ['nondeterministic', 'unknown', 'waiting', 'unsearched'] as const;

/** A culprit that may name a page: a variation key's shape (anything else is shown, never linked). */
const CULPRIT_KEY = /^[A-Z][A-Z0-9_]{0,63}$/;

const VARIATION_RANK = new Map(VARIATIONS.map((v, i) => [v.key, i]));
const VERDICT_RANK = new Map<string, number>(VERDICT_GROUPS.map((g, i) => [g, i]));

/** Whether a culprit may name a page (and be linked to it). */
export function isCulpritKey(key: string): boolean {
  return CULPRIT_KEY.test(key);
}

/** The variation keys of a stored culprits list (JSON): strings only, each once, in their order. */
export function parseCulprits(json: string | null | undefined): string[] {
  if (!json) return [];
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  return Array.isArray(v) ? [...new Set(v.filter((k): k is string => typeof k === 'string'))] : [];
}

/** The groups an FTBR row is in: each culprit that may name a page, else what its search says. */
export function culpritGroups(r: ListRow): string[] {
  if (r.verdict === 'culprits') {
    const keys = parseCulprits(r.culprits).filter(isCulpritKey);
    return keys.length > 0 ? keys : ['unknown'];
  }
  if (r.verdict === 'nondeterministic') return ['nondeterministic'];
  if (r.verdict) return ['unknown'];
  return r.culprit_state ? ['waiting'] : ['unsearched'];
}

/** Groups in the order pages show them: the variation table's, other culprits sorted, then the verdicts. */
export function orderGroups(groups: Iterable<string>): string[] {
  const rank = (g: string): [number, number] => {
    const v = VERDICT_RANK.get(g);
    if (v !== undefined) return [2, v];
    const k = VARIATION_RANK.get(g);
    return k !== undefined ? [0, k] : [1, 0];
  };
  return [...new Set(groups)].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || (a < b ? -1 : a > b ? 1 : 0);
  });
}

export function groupLabel(group: string): string {
  return group === 'waiting' ? 'search in progress' : group === 'unsearched' ? 'not searched' : group;
}

/** What a group's packages have in common, for its page and culprits.html. */
export function groupHelp(group: string): string {
  const v = VARIATION_KEYS.get(group);
  if (v) return `the difference comes from ${group} (by default build 1: ${v.build1}; build 2: ${v.build2})`;
  switch (group) {
    case 'nondeterministic':
      return 'the builds differ even with the same variations: the build itself is not deterministic';
    case 'unknown':
      return 'no verdict could be reached (each package page says why)';
    case 'waiting':
      return 'follow-up builds are searching for the culprit';
    case 'unsearched':
      return 'no culprit search was recorded for this version';
    default:
      return `the difference comes from ${group}`;
  }
}

/** A group's page, in its suite/arch's folder. */
export function culpritPageName(group: string): string {
  return `index_FTBR_culprit_${group}.html`;
}

/** The group a file name in a suite/arch's folder is the page of, or null. */
export function groupOfPage(name: string): string | null {
  return /^index_FTBR_culprit_(.+)\.html$/.exec(name)?.[1] ?? null;
}

const CELL = '<td class="culprit">';

/** The FTBR row's culprit cell: each culprit (or the verdict) linked to its group's page in the same folder. */
export function culpritCellHtml(r: ListRow): string {
  const link = (group: string, text: string): string => `<a href="${culpritPageName(group)}">${escapeHtml(text)}</a>`;
  const [group = 'unsearched'] = culpritGroups(r);
  let cell: string;
  if (r.verdict === 'culprits' && group !== 'unknown') {
    cell = parseCulprits(r.culprits)
      .map((k) => (isCulpritKey(k) ? link(k, k) : escapeHtml(k)))
      .join(', ');
  } else {
    cell = link(group, groupLabel(group));
    if (group === 'waiting') cell += ` (${Number(r.culprit_builds ?? 0)} builds so far)`;
  }
  return `${CELL}${cell}</td>`;
}

/**
 * The groups an FTBR page's line (culpritCellHtml) links, read back from the line: its culprit cell
 * links each of its groups, and nothing else does (the cells before it are escaped). Null: no cell.
 */
export function groupsOfLine(line: string): string[] | null {
  const at = line.lastIndexOf(CELL);
  if (at < 0) return null;
  return [...line.slice(at).matchAll(/ href="index_FTBR_culprit_([^"]+)\.html"/g)].map((m) => m[1] ?? '');
}

/** reproducible.json's culprit fields of a row: an FTBR's verdict once there is one. */
export function culpritJson(r: ListRow): { verdict: string; culprits: string[]; culprit_source?: string } | undefined {
  if (r.status !== 'FTBR' || !r.verdict) return undefined;
  const out: { verdict: string; culprits: string[]; culprit_source?: string } = { verdict: r.verdict, culprits: parseCulprits(r.culprits) };
  if (r.culprit_source) out.culprit_source = r.culprit_source;
  return out;
}

/** Packages per group of some FTBR rows. */
export function countGroups(rows: readonly ListRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) for (const g of culpritGroups(r)) out[g] = (out[g] ?? 0) + 1;
  return out;
}
