/**
 * A touched person's page spliced (maintainer-pages.ts): its rows are one
 * line each, in the query's order (suite, package, then the configured
 * architectures), so the changed packages' lines are found by binary search
 * and replaced (status-pages.ts Splice, splice-lines.ts), and the index's
 * counts follow from the lines taken out and put in. A team's page has tens
 * of thousands of rows of which one changed; reading and rendering it whole
 * took most of an incremental render. Anything not as this code wrote it is
 * NotSpliceable: that person gets their page whole.
 */
import { maintainerSources } from '../db/site-maintainers.js';
import type { RenderContext } from './context.js';
import { MAINTAINERS_DIR, maintainerFile, type IndexEntry } from './maintainer-files.js';
import {
  eachMaintainer,
  indexRowHtml,
  indexView,
  maintainerRowHtml,
  maintainerView,
  type MaintainerPageRow,
  type MaintainerSummary,
} from './model-maintainers.js';
import { bytes, NotSpliceable, unescapeHtml } from './splice-lines.js';
import { ROWS, Splice } from './status-pages.js';

/** Past this many changed packages the people they touch get their pages whole. */
const SPLICE_LIMIT = 500;

/** A row's key: its suite, package and architecture (by its place in the configuration), as a byte string. */
export function rowKeyOf(suite: string, pkg: string, archIndex: number): string {
  return `${bytes(suite)}\0${bytes(pkg)}\0${String.fromCharCode(archIndex)}`;
}

const ROW_RE =
  /^<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td><a href="[^"]*">([^<]*)<\/a><\/td><td>[^<]*<\/td><td class="[^"]*">([^<]*)<\/td><td>[^<]*<\/td><\/tr>\n?$/;

function parseRow(line: Buffer): { suite: string; arch: string; pkg: string; status: string } {
  const m = ROW_RE.exec(line.toString('latin1'));
  if (!m) throw new NotSpliceable('a maintainer row not as this code writes it');
  const [suite, arch, pkg, status] = m.slice(1).map((x) => unescapeHtml(x ?? ''));
  return { suite: suite ?? '', arch: arch ?? '', pkg: pkg ?? '', status: status ?? '' };
}

function lineKey(arches: readonly string[]): (line: Buffer) => string {
  return (line) => {
    const r = parseRow(line);
    const i = arches.indexOf(r.arch);
    if (i < 0) throw new NotSpliceable(`a maintainer row of an architecture not configured: ${r.arch}`);
    return rowKeyOf(r.suite, r.pkg, i);
  };
}

/**
 * Splice the changed packages' lines into the pages of `emails`, bringing `people` up to date;
 * returns those whose page could not be spliced (none kept, not as this code wrote it, too many
 * changes): they get theirs whole.
 */
export function splicePeople(
  ctx: RenderContext,
  people: Record<string, IndexEntry>,
  emails: readonly string[],
  changed: ReadonlyMap<string, readonly string[]>,
): string[] {
  const names = [...new Set([...changed.values()].flat())];
  if (emails.length === 0) return [];
  if (names.length > SPLICE_LIMIT) return [...emails];
  const { suites, architectures: arches } = ctx.config;
  const keys = suites.flatMap((suite) => names.flatMap((n) => arches.map((_, i) => rowKeyOf(suite, n, i))));
  const fresh = new Map<string, MaintainerSummary>();
  eachMaintainer(maintainerSources(ctx.reader.db, suites, arches, emails, names), arches, maintainerFile, (p) => fresh.set(p.email, p));
  const whole: string[] = [];
  for (const email of emails) {
    try {
      const e = people[email];
      if (!e) throw new NotSpliceable('no page kept');
      splicePerson(ctx, people, e, fresh.get(email)?.rows ?? [], keys);
    } catch (err) {
      if (!(err instanceof NotSpliceable)) throw err;
      whole.push(email);
    }
  }
  return whole;
}

function splicePerson(
  ctx: RenderContext,
  people: Record<string, IndexEntry>,
  e: IndexEntry,
  rows: readonly MaintainerPageRow[],
  keys: readonly string[],
): void {
  const arches = ctx.config.architectures;
  const lines = new Map(rows.map((r) => [rowKeyOf(r.suite, r.package, arches.indexOf(r.arch)), Buffer.from(maintainerRowHtml(r))]));
  // the name shown is the first row's: a row put in before it, or the first one gone, may change it
  if ([...lines.keys()].some((k) => k < e.first) || (keys.includes(e.first) && !lines.has(e.first))) throw new NotSpliceable('a change of the first row');
  const rel = `${MAINTAINERS_DIR}/${e.file}`;
  new Splice(ctx, keys, lineKey(arches)).run((splice) => {
    const s = splice.rows({ rel, size: e.size, before: e.rows, lines });
    if (!s.changed) return;
    if (s.count === 0) throw new NotSpliceable('no row left: the page goes');
    const unchanged = new Set(s.unchanged);
    const put = [...lines].filter(([k]) => !unchanged.has(k)).map(([, l]) => l);
    const tally = (status: string): number => count(put, status) - count(s.replaced, status);
    const size = splice.write(s, maintainerView(e.name, e.email, s.count, ROWS), 'maintainer');
    people[e.email] = { ...e, packages: s.count / arches.length, ftbr: e.ftbr + tally('FTBR'), ftbfs: e.ftbfs + tally('FTBFS'), rows: s.count, size };
  });
}

function count(lines: readonly Buffer[], status: string): number {
  return lines.filter((l) => parseRow(l).status === status).length;
}

/** An index line's address (its second cell), as a byte string. */
function indexKey(line: Buffer): string {
  const l = line.toString('latin1');
  const a = l.indexOf('</a></td><td>');
  const b = a < 0 ? -1 : l.indexOf('</td>', a + 13);
  if (b < 0) throw new NotSpliceable('an index row without its address');
  return unescapeHtml(l.slice(a + 13, b));
}

/**
 * The touched people's lines of maintainers/index.html spliced in (`last`: what the last render wrote,
 * `total`: how many people there are now); NotSpliceable when it cannot be.
 */
export function spliceIndex(
  ctx: RenderContext,
  people: Record<string, IndexEntry>,
  emails: readonly string[],
  last: { size: number; count: number },
  total: number,
): { size: number; count: number } {
  const lines = new Map<string, Buffer>();
  for (const e of emails) {
    const p = people[e];
    if (p) lines.set(bytes(e), Buffer.from(indexRowHtml(p)));
  }
  return new Splice(ctx, emails.map(bytes), indexKey).run((splice) => {
    const s = splice.rows({ rel: `${MAINTAINERS_DIR}/index.html`, size: last.size, before: last.count, lines });
    if (s.count !== total) throw new NotSpliceable('an index of other people than the cache has');
    if (!s.changed) return last;
    const size = splice.write(s, indexView(s.count, ROWS), 'maintainers');
    return { size, count: s.count };
  });
}
