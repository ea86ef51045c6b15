/**
 * The maintainer pages: maintainers/index.html and one page per person
 * (maintainers/FILE.html, FILE from maintainerFile), from one read of the DB
 * every render. A person's page is written only when its bytes change; the
 * pages of people who no longer maintain anything are removed.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { MAINTAINER_EMAIL_RE } from '../archive/maintainers.js';
import { maintainerPackages } from '../db/site-maintainers.js';
import type { RenderContext } from './context.js';
import { groupMaintainers, maintainersView, maintainerView } from './model-maintainers.js';
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

/** maintainers/index.html and each person's page; then the pages of people gone. */
export function renderMaintainerPages(ctx: RenderContext, plan: RenderPlan): void {
  const people = groupMaintainers(maintainerPackages(ctx.reader.db), ctx.config.suites, ctx.config.architectures, maintainerFile);
  ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/index.html`, ctx.renderer.render('maintainers', maintainersView(people, plan.asOf)));
  const current = new Set(['index.html']);
  for (const p of people) {
    current.add(p.file);
    ctx.writer.writeIfChanged(`${MAINTAINERS_DIR}/${p.file}`, ctx.renderer.render('maintainer', maintainerView(p)));
  }
  let names: string[];
  try {
    names = readdirSync(ctx.writer.path(MAINTAINERS_DIR));
  } catch {
    return;
  }
  // only the pages this module writes: a dot name (a write in progress) or another file is left alone
  for (const n of names) if (n.endsWith('.html') && !n.startsWith('.') && !current.has(n)) ctx.writer.remove(`${MAINTAINERS_DIR}/${n}`);
}
