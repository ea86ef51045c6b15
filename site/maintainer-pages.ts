/**
 * The maintainer pages: maintainers/index.html and one page per person
 * (maintainers/FILE.html, FILE from maintainerFile). A full render reads
 * everyone; an incremental one only the people its changes touch, the index
 * made from what `.reprofarm/index/maintainers.json` kept of the others, and
 * a touched person's page spliced where it can be (a team's page has tens of
 * thousands of rows: maintainer-splice.ts). A page is written only when its
 * bytes change; the pages of people who no longer maintain anything are removed.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { maintainerSources, touchedMaintainers } from '../db/site-maintainers.js';
import { scopeOf, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import { MAINTAINERS_DIR, maintainerFile, type IndexEntry } from './maintainer-files.js';
import { eachMaintainer, indexRowHtml, indexView, maintainerRowHtml, maintainerView, personCounts } from './model-maintainers.js';
import { rowKeyOf, spliceIndex, splicePeople } from './maintainer-splice.js';
import { bytes, NotSpliceable } from './splice-lines.js';
import type { RenderPlan } from './plan.js';

interface IndexCache {
  version: 3;
  /** the configuration's suites and architectures the entries count */
  scope: string;
  people: Record<string, IndexEntry>;
  /** the byte size index.html was written with, and its rows */
  index: { size: number; count: number };
}

/**
 * maintainers/index.html and the pages of the people whose packages changed (everyone's in a full
 * render): a person whose own rows changed (a name, a role, a package gained or lost) gets their
 * page whole, the others the changed packages' lines spliced in; the pages of people gone are removed.
 */
export function renderMaintainerPages(ctx: RenderContext, plan: RenderPlan): void {
  const scope = scopeOf(ctx.config);
  const cache = new JsonCache<IndexCache>(
    join(ctx.paths.indexDir, 'maintainers.json'),
    (c) => c.version === 3 && c.scope === scope && Boolean(c.people) && typeof c.index?.size === 'number',
  );
  const kept = plan.full ? undefined : cache.read();
  const people: Record<string, IndexEntry> = kept?.people ?? {};
  let index: IndexCache['index'];
  if (kept) {
    const changed = changedBySuite(plan);
    const touched = touchedMaintainers(ctx.reader.db, plan.from, plan.seq, changed);
    if (touched.rows.size === 0 && touched.packages.size === 0) return;
    const spliceable = [...touched.packages].filter((e) => !touched.rows.has(e)).sort();
    const whole = [...new Set([...touched.rows, ...splicePeople(ctx, people, spliceable, changed)])].sort();
    if (whole.length > 0) renderPeople(ctx, people, whole);
    index = spliceIndexOrWrite(ctx, people, [...touched.rows, ...touched.packages], kept.index);
  } else {
    renderPeople(ctx, people, undefined);
    index = writeIndex(ctx, people);
  }
  cache.write({ version: 3, scope, people, index });
  if (plan.full) removeStrays(ctx, new Set(Object.values(people).map((e) => e.file)));
}

/** index.html whole, its rows sorted by address as byte strings (the order a splice keeps). */
function writeIndex(ctx: RenderContext, people: Record<string, IndexEntry>): IndexCache['index'] {
  const emails = Object.keys(people).sort((a, b) => (bytes(a) < bytes(b) ? -1 : 1));
  const html = ctx.renderer.render('maintainers', indexView(emails.length, emails.map((e) => indexRowHtml(people[e] as IndexEntry)).join('')));
  ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/index.html`, html);
  return { size: Buffer.byteLength(html), count: emails.length };
}

function spliceIndexOrWrite(ctx: RenderContext, people: Record<string, IndexEntry>, emails: readonly string[], last: IndexCache['index']): IndexCache['index'] {
  try {
    return spliceIndex(ctx, people, emails, last);
  } catch (err) {
    if (!(err instanceof NotSpliceable)) throw err;
    return writeIndex(ctx, people);
  }
}

/** The pages of `emails` (undefined: everyone) from all their rows, into `people`; those left with none lose their page. */
function renderPeople(ctx: RenderContext, people: Record<string, IndexEntry>, emails: readonly string[] | undefined): void {
  const { config } = ctx;
  const gone = new Set(emails ?? Object.keys(people));
  const rows = maintainerSources(ctx.reader.db, config.suites, config.architectures, emails);
  eachMaintainer(rows, config.architectures, maintainerFile, (p) => {
    gone.delete(p.email);
    const html = ctx.renderer.render('maintainer', maintainerView(p.name, p.email, p.rows.length, p.rows.map(maintainerRowHtml).join('')));
    ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/${p.file}`, html);
    const first = p.rows[0] ? rowKeyOf(p.rows[0].suite, p.rows[0].package, 0) : '';
    people[p.email] = { name: p.name, email: p.email, ...personCounts(p), file: p.file, rows: p.rows.length, size: Buffer.byteLength(html), first };
  });
  for (const email of gone) {
    const e = people[email];
    if (e) ctx.writer.remove(`${MAINTAINERS_DIR}/${e.file}`);
    delete people[email];
  }
}

/** The packages each suite's changes name (a package changed on any architecture touches its people). */
function changedBySuite(plan: RenderPlan): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const u of plan.todo.values()) out.set(u.suite, [...new Set([...(out.get(u.suite) ?? []), ...u.names])]);
  return out;
}

/** After a full render: pages of people no longer there (a dot name, a write in progress, is left alone). */
function removeStrays(ctx: RenderContext, current: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(ctx.writer.path(MAINTAINERS_DIR));
  } catch {
    return;
  }
  for (const n of names) if (n.endsWith('.html') && n !== 'index.html' && !n.startsWith('.') && !current.has(n)) ctx.writer.remove(`${MAINTAINERS_DIR}/${n}`);
}
