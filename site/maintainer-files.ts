/**
 * Where the maintainer pages are and what is kept of each person between
 * renders: shared by maintainer-pages.ts and maintainer-splice.ts.
 */
import { createHash } from 'node:crypto';
import { MAINTAINER_EMAIL_RE } from '../archive/maintainers.js';
import type { PersonCounts } from './model-maintainers.js';

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
