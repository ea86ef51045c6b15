/**
 * The maintainer pages: maintainers/index.html and one page per person
 * (maintainers/FILE.html, FILE from maintainerFile). A full render reads
 * everyone; an incremental one only the people its changes touch: their
 * entries read from, and put back into, `.reprofarm/index/maintainers.people.jsonl`
 * (a line per person), their index lines spliced, and
 * a touched person's page spliced where it can be (a team's page has tens of
 * thousands of rows: maintainer-splice.ts). A page is written only when its
 * bytes change; the pages of people who no longer maintain anything are removed.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { maintainerSources, touchedMaintainers } from '../db/site-maintainers.js';
import { scopeOf, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import { LinesCache, type LinesFile } from './lines-cache.js';
import { MAINTAINERS_DIR, maintainerFile, type IndexEntry } from './maintainer-files.js';
import { eachMaintainer, indexRowHtml, indexView, maintainerRowHtml, maintainerView, personCounts } from './model-maintainers.js';
import { rowKeyOf, spliceIndex, splicePeople } from './maintainer-splice.js';
import { bytes, NotSpliceable } from './splice-lines.js';
import type { RenderPlan } from './plan.js';

interface IndexCache {
  version: 4;
  /** the configuration's suites and architectures the entries count */
  scope: string;
  /** the people file (PEOPLE_FILE) as it was written: an IndexEntry per address */
  people: LinesFile;
  /** the byte size index.html was written with, and its rows */
  index: { size: number; count: number };
}

/** Each person's IndexEntry, a line each (lines-cache.ts): an incremental render reads and splices the touched people's alone. */
const PEOPLE_FILE = 'maintainers.people.jsonl';

/**
 * maintainers/index.html and the pages of the people whose packages changed (everyone's in a full
 * render): a person whose own rows changed (a name, a role, a package gained or lost) gets their
 * page whole, the others the changed packages' lines spliced in; the pages of people gone are removed.
 */
export function renderMaintainerPages(ctx: RenderContext, plan: RenderPlan): void {
  const scope = scopeOf(ctx.config);
  const cache = new JsonCache<IndexCache>(
    join(ctx.paths.indexDir, 'maintainers.json'),
    (c) => c.version === 4 && c.scope === scope && typeof c.people?.size === 'number' && typeof c.index?.size === 'number',
  );
  const lines = new LinesCache<IndexEntry>(ctx.writer, join(ctx.paths.indexDir, PEOPLE_FILE));
  const kept = plan.full ? undefined : cache.read();
  let next: IndexCache | undefined;
  try {
    next = kept && renderTouched(ctx, plan, kept, lines);
  } catch (err) {
    if (!(err instanceof NotSpliceable)) throw err;
  }
  next ??= renderEveryone(ctx, scope, lines);
  if (next !== kept) cache.write(next);
}

/** The pages of the people the changes since the last render touch, and their index lines; NotSpliceable when the kept entries cannot be used. */
function renderTouched(ctx: RenderContext, plan: RenderPlan, kept: IndexCache, lines: LinesCache<IndexEntry>): IndexCache {
  const changed = changedBySuite(plan);
  const touched = touchedMaintainers(ctx.reader.db, plan.from, plan.seq, changed);
  const emails = [...new Set([...touched.rows, ...touched.packages])];
  if (emails.length === 0) return kept;
  const people = lines.read(kept.people, emails);
  const spliceable = [...touched.packages].filter((e) => !touched.rows.has(e)).sort();
  const whole = [...new Set([...touched.rows, ...splicePeople(ctx, people, spliceable, changed)])].sort();
  if (whole.length > 0) renderPeople(ctx, people, whole);
  const peopleFile = lines.splice(kept.people, new Map(emails.map((e) => [e, people[e]])));
  let index: IndexCache['index'];
  try {
    index = spliceIndex(ctx, people, emails, kept.index, peopleFile.count);
  } catch (err) {
    if (!(err instanceof NotSpliceable)) throw err;
    index = writeIndex(ctx, lines.readAll(peopleFile));
  }
  return { ...kept, people: peopleFile, index };
}

/** Everyone's page and the index whole; pages of people no longer there removed. */
function renderEveryone(ctx: RenderContext, scope: string, lines: LinesCache<IndexEntry>): IndexCache {
  const people: Record<string, IndexEntry> = {};
  renderPeople(ctx, people, undefined);
  const index = writeIndex(ctx, people);
  removeStrays(ctx, new Set(Object.values(people).map((e) => e.file)));
  return { version: 4, scope, people: lines.writeAll(people), index };
}

/** index.html whole, its rows sorted by address as byte strings (the order a splice keeps). */
function writeIndex(ctx: RenderContext, people: Record<string, IndexEntry>): IndexCache['index'] {
  const emails = Object.keys(people).sort((a, b) => (bytes(a) < bytes(b) ? -1 : 1));
  const html = ctx.renderer.render('maintainers', indexView(emails.length, emails.map((e) => indexRowHtml(people[e] as IndexEntry)).join('')));
  ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/index.html`, html);
  return { size: Buffer.byteLength(html), count: emails.length };
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

/** Pages of people no longer there (a dot name, a write in progress, is left alone). */
function removeStrays(ctx: RenderContext, current: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(ctx.writer.path(MAINTAINERS_DIR));
  } catch {
    return;
  }
  for (const n of names) if (n.endsWith('.html') && n !== 'index.html' && !n.startsWith('.') && !current.has(n)) ctx.writer.remove(`${MAINTAINERS_DIR}/${n}`);
}
