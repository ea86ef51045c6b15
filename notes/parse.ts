/**
 * Reads a reproducible-notes checkout (packages.yml, issues.yml) and validates it whole:
 * every problem names the file, the line and what is wrong. Notes are untrusted text; package
 * and issue names become paths, so they are checked here, once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

export interface NoteIssue {
  name: string;
  description: string;
  url: string | null; // only http(s)
}
export interface PackageNote {
  package: string;
  version: string | null;
  issues: string[];
  bugs: number[];
  comments: string | null;
}
export interface NotesCheckout {
  packages: PackageNote[];
  issues: NoteIssue[];
}
export interface NotesProblem {
  file: string;
  line: number; // 1-based; 0 when unknown
  message: string;
}

/** The checkout's files, as reproducible-notes names them. */
export const NOTES_FILES = ['packages.yml', 'issues.yml'] as const;

const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]+$/; // Debian Policy 5.6.1
const ISSUE_NAME = /^[a-z0-9][a-z0-9_.+-]{0,199}$/; // a safe file name
const PACKAGE_KEYS = new Set(['version', 'issues', 'bugs', 'comments']);
const ISSUE_KEYS = new Set(['description', 'url']);

/** The 1-based line of a top-level key (and, when given, of a field under it). */
function lineOf(text: string, key: string, field?: string): number {
  const lines = text.split('\n');
  const top = lines.findIndex((l) => l === `${key}:` || l.startsWith(`${key}:`));
  if (top < 0 || field === undefined) return top + 1;
  for (let i = top + 1; i < lines.length && /^(\s|$)/.test(lines[i] ?? ''); i++) {
    if (new RegExp(`^\\s+${field}:`).test(lines[i] ?? '')) return i + 1;
  }
  return top + 1;
}

function load(dir: string, file: string, problems: NotesProblem[]): { text: string; data: unknown } | null {
  let text: string;
  try {
    text = readFileSync(join(dir, file), 'utf8');
  } catch (e) {
    problems.push({ file, line: 0, message: `cannot read: ${(e as Error).message}` });
    return null;
  }
  try {
    return { text, data: yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA }) ?? {} };
  } catch (e) {
    const err = e as yaml.YAMLException;
    problems.push({ file, line: (err.mark?.line ?? -1) + 1, message: err.reason ?? err.message });
    return null;
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseIssues(text: string, data: unknown, problems: NotesProblem[]): NoteIssue[] {
  const file = 'issues.yml';
  if (!isMap(data)) {
    problems.push({ file, line: 1, message: 'expected a mapping of issue names' });
    return [];
  }
  const out: NoteIssue[] = [];
  for (const [name, v] of Object.entries(data)) {
    const bad = (message: string, field?: string): void => {
      problems.push({ file, line: lineOf(text, name, field), message: `${name}: ${message}` });
    };
    if (!ISSUE_NAME.test(name)) bad('not a valid issue name (a-z, 0-9, _ . + -)');
    else if (name === 'index') bad('"index" is taken by the page listing every issue: rename it');
    const m = v ?? {};
    if (!isMap(m)) {
      bad('expected a mapping with description and url');
      continue;
    }
    for (const k of Object.keys(m)) if (!ISSUE_KEYS.has(k)) bad(`unknown key "${k}"`, k);
    const description = m.description ?? '';
    if (typeof description !== 'string') bad('description must be text', 'description');
    let url: string | null = null;
    if (m.url !== undefined && m.url !== null) {
      if (typeof m.url !== 'string' || !/^https?:\/\//.test(m.url)) bad('url must be an http(s) URL', 'url');
      else url = m.url;
    }
    out.push({ name, description: typeof description === 'string' ? description : '', url });
  }
  return out;
}

function stringList(v: unknown): string[] | null {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) && v.every((x): x is string => typeof x === 'string') ? v : null;
}

function parseBugs(v: unknown): number[] | null {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return null;
  const out: unknown[] = (v as unknown[]).map((x) => (typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x));
  return out.every((x): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0) ? out : null;
}

function parsePackage(name: string, v: unknown, bad: (m: string, f?: string) => void): PackageNote | null {
  if (!SOURCE_NAME.test(name)) bad('not a valid Debian source package name');
  const m = v ?? {};
  if (!isMap(m)) {
    bad('expected a mapping with version, issues, bugs, comments');
    return null;
  }
  for (const k of Object.keys(m)) if (!PACKAGE_KEYS.has(k)) bad(`unknown key "${k}"`, k);
  const version = typeof m.version === 'string' || typeof m.version === 'number' ? String(m.version) : null;
  if (m.version !== undefined && m.version !== null && version === null) bad('version must be text', 'version');
  if (version !== null && !/^[A-Za-z0-9.+~:-]+$/.test(version)) bad('version is not a Debian version', 'version');
  const issues = stringList(m.issues);
  if (issues === null) bad('issues must be a list of issue names', 'issues');
  const bugs = parseBugs(m.bugs);
  if (bugs === null) bad('bugs must be a list of bug numbers', 'bugs');
  if (m.comments !== undefined && m.comments !== null && typeof m.comments !== 'string') bad('comments must be text', 'comments');
  const comments = typeof m.comments === 'string' ? m.comments : null;
  return { package: name, version, issues: issues ?? [], bugs: bugs ?? [], comments };
}

/** Parses and validates DIR; returns the checkout, or every problem found. */
export function readNotes(dir: string): { notes: NotesCheckout; problems: NotesProblem[] } {
  const problems: NotesProblem[] = [];
  const iss = load(dir, 'issues.yml', problems);
  const pkg = load(dir, 'packages.yml', problems);
  const issues = iss ? parseIssues(iss.text, iss.data, problems) : [];
  const known = new Set(issues.map((i) => i.name));
  const packages: PackageNote[] = [];
  if (pkg && !isMap(pkg.data)) problems.push({ file: 'packages.yml', line: 1, message: 'expected a mapping' });
  else if (pkg) {
    for (const [name, v] of Object.entries(pkg.data as Record<string, unknown>)) {
      const bad = (message: string, field?: string): void => {
        problems.push({ file: 'packages.yml', line: lineOf(pkg.text, name, field), message: `${name}: ${message}` });
      };
      const note = parsePackage(name, v, bad);
      if (!note) continue;
      for (const i of note.issues) if (iss && !known.has(i)) bad(`issue "${i}" is not in issues.yml`, 'issues');
      packages.push(note);
    }
  }
  packages.sort((a, b) => (a.package < b.package ? -1 : 1));
  issues.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { notes: { packages, issues }, problems };
}

export function formatProblems(problems: readonly NotesProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n');
}
