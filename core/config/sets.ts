/**
 * package_sets: named sets of source packages, for the notifications' `sets` filters and the set
 * pages (site/set-pages.ts). Each set is a list in the file, or the path of a file of one name per line, read
 * whole when the configuration is loaded: a bad name there is a configuration error like any other.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { causeChain, excerpt } from '../errors.js';
import { describe, keyName, type Problems } from './problems.js';
import { MAX_PATH, PACKAGE_RE, SET_RE } from './schema.js';
import { isObj } from './types.js';

/** A set file of every Debian source package is under 1 MiB; far past that it is no list of names. */
export const MAX_SET_FILE_BYTES = 8 * 1024 * 1024;

const NAME_HINT = 'one source package name per line (lower case letters, digits, + . -), `#` starts a comment';

/** The file's text, or why it cannot be read (not a regular file, too large, unreadable). */
function readSetFile(file: string): string | { problem: string } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    return { problem: `cannot be read (${causeChain(err).join(': ')}); give an existing file or a list of names` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: 'is not a regular file; give a file of package names or a list of names' };
    if (st.size > MAX_SET_FILE_BYTES) return { problem: `is ${st.size} bytes, more than the ${MAX_SET_FILE_BYTES} a set file may have` };
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, st.size, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The names of a set file: `#` comments and blank lines skipped; each bad or repeated line is an error naming it. */
function namesOfFile(p: Problems, at: string, given: string, baseDir: string): Set<string> {
  const out = new Set<string>();
  const file = resolve(baseDir, given);
  const where = excerpt(given);
  if (file.length > MAX_PATH) {
    p.err(at, `${where}: the path is longer than ${MAX_PATH} characters once resolved`);
    return out;
  }
  const text = readSetFile(file);
  if (typeof text !== 'string') {
    p.err(at, `${where} ${text.problem}`);
    return out;
  }
  text.split('\n').forEach((raw, i) => {
    const name = raw.replace(/#.*/, '').trim();
    if (name === '') return;
    const line = `${where} line ${i + 1}`;
    if (!PACKAGE_RE.test(name)) p.err(at, `${line}: ${excerpt(name)} is not a source package name; write ${NAME_HINT}`);
    else if (out.has(name)) p.err(at, `${line}: "${name}" is listed twice`);
    else out.add(name);
  });
  return out;
}

/** The names of a list given in the configuration. */
function namesOfList(p: Problems, at: string, v: unknown[]): Set<string> {
  const out = new Set<string>();
  v.forEach((x: unknown, i) => {
    if (typeof x !== 'string' || !PACKAGE_RE.test(x)) p.err(`${at}[${i}]`, `${describe(x)} is not a source package name`);
    else if (out.has(x)) p.err(`${at}[${i}]`, `"${x}" is listed twice`);
    else out.add(x);
  });
  return out;
}

export function readPackageSets(p: Problems, v: unknown, at: string, baseDir: string): Map<string, Set<string>> {
  const sets = new Map<string, Set<string>>();
  if (v === undefined || v === null) return sets;
  if (!isObj(v)) {
    p.err(at, `must be a mapping like { web: [nginx, apache2], base: ./sets/base.txt }, got ${describe(v)}`);
    return sets;
  }
  for (const [name, value] of Object.entries(v)) {
    const here = `${at}.${keyName(name)}`;
    if (!SET_RE.test(name)) {
      p.err(here, 'set names may use letters, digits, ".", "_" and "-" (not first), at most 63 characters');
      continue;
    }
    if (Array.isArray(value)) sets.set(name, namesOfList(p, here, value));
    else if (typeof value === 'string' && value !== '') sets.set(name, namesOfFile(p, here, value, baseDir));
    else p.err(here, `must be a list of source package names or the path of a file of them, got ${describe(value)}`);
  }
  return sets;
}

/** The names of the sets a package is in, sorted. */
export function setsOf(sets: ReadonlyMap<string, ReadonlySet<string>>, pkg: string): string[] {
  const out: string[] = [];
  for (const [name, members] of sets) if (members.has(pkg)) out.push(name);
  return out.sort();
}
