/**
 * The maintainer pages: maintainers/index.html and one page per person
 * (maintainers/FILE.html, FILE from maintainerFile). A full render reads
 * everyone; an incremental one only the people its changes touch, the index
 * made from what `.reprofarm/index/maintainers.json` kept of the others, and
 * a touched person's page spliced where it can be (a team's page has tens of
 * thousands of rows: maintainer-splice.ts). A page is written only when its
 * bytes change; the pages of people who no longer maintain anything are removed.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { MAINTAINER_EMAIL_RE } from '../archive/maintainers.js';
import { join } from 'node:path';
import { maintainerSources, touchedMaintainers } from '../db/site-maintainers.js';
import { scopeOf, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import { eachMaintainer, indexRowHtml, indexView, maintainerRowHtml, maintainerView, personCounts, type PersonCounts } from './model-maintainers.js';
import { rowKeyOf, spliceIndex, splicePeople } from './maintainer-splice.js';
import { bytes, NotSpliceable } from './splice-lines.js';
import type { RenderPlan } from './plan.js';

export const MAINTAINERS_DIR = 'maintainers';
/** longer names are cut and given a hash of the whole address, so that they stay unique and fit any file system */
const MAX_FILE_STEM = 100;
const KEEP = /[a-z0-9@._+-]/;

/**
 * The file name of a person's page, or null for what is not an email address. The address is
 * lower-cased (a person's identity, as the DB has it); what is not [a-z0-9@._+-] is
 * percent-encoded (`%` too, so two addresses never share a name), and so is a leading dot (a
 * hidden file).
 */
export function maintainerFile(email: string): string | null {
  const e = email.toLowerCase();
  if (!MAINTAINER_EMAIL_RE.test(e)) return null;
  let stem = '';
  for (const c of e) stem += KEEP.test(c) && !(stem === '' && c === '.') ? c : [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  if (stem.length > MAX_FILE_STEM) {
    let cut = stem.slice(0, MAX_FILE_STEM - 16);
    // no half of a %XX
    const pct = cut.lastIndexOf('%');
    if (pct >= 0 && pct > cut.length - 3) cut = cut.slice(0, pct);
    // longer than any stem left whole: a cut name never equals another address's
    stem = `${cut}-${createHash('sha256').update(e).digest('hex').slice(0, 17)}`.padEnd(MAX_FILE_STEM + 1, '-');
  }
  return `${stem}.html`;
}

/** What the index shows of a person and what their page was written with, kept between renders (maintainer-splice.ts). */
export type IndexEntry = PersonCounts & {
  name: string;
  email: string;
  file: string;
  /** the page's rows and byte size */
  rows: number;
  size: number;
  /** the key of its first row (maintainer-splice.ts rowKeyOf): the person's name is that row's */
  first: string;
};

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
