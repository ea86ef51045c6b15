/**
 * A Sources stanza's Maintainer and Uploaders fields: RFC 822-ish
 * `Name <email>` entries, Uploaders comma-separated, where a comma inside a
 * quoted name ("Doe, John" <j@d.org>) does not separate. The fields come from
 * a mirror: every name and address is bounded and validated here, and what is
 * refused is said (and left out), never passed on.
 */
import { excerpt } from '../core/errors.js';

export type MaintainerRole = 'maintainer' | 'uploader';

export interface MaintainerInput {
  /** lower-cased: the identity of a maintainer across packages and suites */
  email: string;
  name: string;
  role: MaintainerRole;
}

/** What an address may be (lower-cased): no spaces, quotes, angle brackets or controls; one @; a dotted domain. */
export const MAINTAINER_EMAIL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;
const MAX_NAME = 200;
/** a package with more co-maintainers than this is not one Debian writes */
const MAX_PEOPLE = 100;

/**
 * Split on commas outside double quotes (a backslash escapes inside them). A
 * quote left open would swallow every entry after it into one: then the
 * field is split on every comma instead, so that only the broken entry is lost.
 */
export function splitPeople(field: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < field.length; i++) {
    const c = field[i] as string;
    if (quoted && c === '\\' && i + 1 < field.length) {
      cur += c + (field[++i] as string);
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return (quoted ? field.split(',') : out).map((s) => s.trim()).filter((s) => s !== '');
}

/** One `Name <email>` entry, or why it is refused. */
export function parsePerson(entry: string, role: MaintainerRole): MaintainerInput | string {
  const text = entry.replace(/\s+/g, ' ').trim();
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(text);
  if (!m) return `${excerpt(text)} has no <email address>`;
  let name = (m[1] ?? '').trim();
  if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  const email = (m[2] ?? '').trim().toLowerCase();
  if (!MAINTAINER_EMAIL_RE.test(email)) return `${excerpt(email)} is not an email address`;
  // C0, DEL and C1 controls: a terminal or a mail header would obey them (a page shows them escaped)
  // eslint-disable-next-line no-control-regex
  if (/[\0-\x1f\x7f-\x9f]/.test(name)) return `the name of ${email} holds control characters`;
  if (name.length > MAX_NAME) return `the name of ${email} is longer than ${MAX_NAME} characters`;
  return { email, name: name || email, role };
}

/**
 * Both fields of a stanza: the maintainer first, then the uploaders, each
 * address once (a maintainer also listed as an uploader stays the maintainer).
 * `problems`: the entries refused, each with why.
 */
export function parseMaintainers(maintainer: string | undefined, uploaders: string | undefined): { people: MaintainerInput[]; problems: string[] } {
  const people: MaintainerInput[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  let cut = false;
  const add = (entry: string, role: MaintainerRole, field: string): void => {
    const p = parsePerson(entry, role);
    if (typeof p === 'string') problems.push(`${field}: ${p}`);
    else if (seen.has(p.email)) return;
    else if (people.length < MAX_PEOPLE) {
      seen.add(p.email);
      people.push(p);
    } else if (!cut) {
      cut = true;
      problems.push(`${field}: more than ${MAX_PEOPLE} people; the rest are left out`);
    }
  };
  if (maintainer !== undefined) add(maintainer, 'maintainer', 'Maintainer');
  for (const u of splitPeople(uploaders ?? '')) add(u, 'uploader', 'Uploaders');
  return { people, problems };
}
