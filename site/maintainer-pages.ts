/**
 * The maintainer pages: maintainers/index.html and one page per person
 * (maintainers/FILE.html, FILE from maintainerFile). A full render reads
 * everyone; an incremental one only the people its changes touch, the index
 * made from what `.reprofarm/index/maintainers.json` kept of the others. A
 * page is written only when its bytes change; the pages of people who no
 * longer maintain anything are removed.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { MAINTAINER_EMAIL_RE } from '../archive/maintainers.js';
import { join } from 'node:path';
import { maintainerSources, touchedMaintainers } from '../db/site-maintainers.js';
import { scopeOf, type RenderContext } from './context.js';
import { JsonCache } from './json-cache.js';
import { eachMaintainer, indexView, maintainerView, maintainersView, type MaintainersView } from './model-maintainers.js';
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

/** What the index shows of a person, kept between renders: an incremental render reads only the people its changes touch. */
type IndexEntry = Omit<MaintainersView['people'][number], 'href'> & { file: string };
interface IndexCache {
  version: 1;
  /** the configuration's suites and architectures the entries count */
  scope: string;
  people: Record<string, IndexEntry>;
}

/** maintainers/index.html and the pages of the people whose packages changed (everyone's in a full render); the pages of people gone are removed. */
export function renderMaintainerPages(ctx: RenderContext, plan: RenderPlan): void {
  const { config, reader } = ctx;
  const scope = scopeOf(config);
  const cache = new JsonCache<IndexCache>(join(ctx.paths.indexDir, 'maintainers.json'), (c) => c.version === 1 && c.scope === scope && Boolean(c.people));
  const kept = plan.full ? undefined : cache.read();
  const byEmail = kept?.people ?? {};
  const touched = kept ? touchedMaintainers(reader.db, plan.from, plan.seq, changedBySuite(plan)) : undefined;
  if (touched?.length === 0) return;
  const gone = new Set(touched ?? Object.keys(byEmail));
  const fresh: Record<string, IndexEntry> = kept ? byEmail : {};
  const rows = maintainerSources(reader.db, config.suites, config.architectures, touched);
  eachMaintainer(rows, config.architectures, maintainerFile, (p) => {
    gone.delete(p.email);
    ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/${p.file}`, ctx.renderer.render('maintainer', maintainerView(p)));
    const { href: _href, ...entry } = maintainersView([p], null).people[0] ?? { href: '', name: p.name, email: p.email, packages: 0, ftbr: 0, ftbfs: 0 };
    fresh[p.email] = { ...entry, file: p.file };
  });
  for (const email of gone) {
    const e = fresh[email];
    if (e) ctx.writer.remove(`${MAINTAINERS_DIR}/${e.file}`);
    delete fresh[email];
  }
  const index = Object.keys(fresh)
    .sort()
    .map((email) => fresh[email] as IndexEntry);
  ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/index.html`, ctx.renderer.render('maintainers', indexView(index)));
  cache.write({ version: 1, scope, people: fresh });
  if (plan.full) removeStrays(ctx, new Set(index.map((e) => e.file)));
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
