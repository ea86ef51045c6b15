/**
 * Parsing and validating what a node's info script printed. Node output is
 * untrusted: it must be UTF-8, bounded in size, KEY=VALUE lines with sane keys
 * and values without control characters. Anything else is reported with its
 * line number and the whole result is rejected, never written through.
 */
import { excerpt, LINE_AND_BIDI_CONTROLS } from '../core/errors.js';

export const REQUIRED_FACTS = ['ARCH', 'NUM_CPU', 'CPU_MODEL', 'KERNEL', 'DATETIME', 'TZ', 'TERM', 'COLUMNS', 'LANG', 'HOSTNAME', 'DOMAINNAME', 'OS'] as const;

/** Keys the main node adds to node-information files; a node may not send them. */
export const MAIN_SIDE_KEYS = ['NODE', 'COLLECTED_AT', 'CLOCK_OFFSET_S', 'HEALTH', 'HEALTH_REASON'] as const;

export const MAX_OUTPUT_BYTES = 64 * 1024;
export const MAX_VALUE_CHARS = 1024;
/** CHROOTS lists every tarball of the node (about 110 characters each): room for about 140 */
export const MAX_CHROOTS_CHARS = 16 * 1024;
export const MAX_FACTS = 256;
const KEY_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
// C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi controls
const BAD_CHARS_RE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${LINE_AND_BIDI_CONTROLS}]`);

/**
 * The facts that are numbers, each with its form and largest value: they feed
 * health, the work orders (NUM_CPU becomes a parallel count) and the pages, so
 * `NUM_CPU=1e308` or `LOAD=-1` is refused like any other malformed line. Each
 * may also be `unset`.
 */
const NUMERIC_FACTS: ReadonlyMap<string, { re: RegExp; max: number; what: string }> = new Map([
  ['NUM_CPU', { re: /^[1-9]\d{0,5}$/, max: 65536, what: 'a whole number from 1 to 65536' }],
  ['COLUMNS', { re: /^\d{1,6}$/, max: 100_000, what: 'a whole number up to 100000' }],
  ['LINES', { re: /^\d{1,6}$/, max: 100_000, what: 'a whole number up to 100000' }],
  ['EPOCH', { re: /^\d{1,11}(\.\d{1,9})?$/, max: 1e11, what: 'seconds since 1970' }],
  ['UPTIME_S', { re: /^\d{1,11}$/, max: 1e11, what: 'a whole number of seconds' }],
  ['DISK_FREE_KB', { re: /^\d{1,15}$/, max: 1e15, what: 'a whole number of KiB' }],
  ['INODES_FREE', { re: /^\d{1,15}$/, max: 1e15, what: 'a whole number' }],
  ['MEM_TOTAL_KB', { re: /^\d{1,15}$/, max: 1e15, what: 'a whole number of KiB' }],
  ['MEM_AVAILABLE_KB', { re: /^\d{1,15}$/, max: 1e15, what: 'a whole number of KiB' }],
  ['INFO_VERSION', { re: /^\d{1,6}$/, max: 1e6, what: 'a whole number' }],
]);
const LOAD_RE = /^\d{1,6}(\.\d{1,3})? \d{1,6}(\.\d{1,3})? \d{1,6}(\.\d{1,3})?$/;

/** What is wrong with a numeric fact's value, or undefined. */
export function numericFactProblem(key: string, value: string): string | undefined {
  if (value === 'unset') return undefined;
  if (key === 'LOAD') return LOAD_RE.test(value) ? undefined : 'must be three load averages ("0.15 0.20 0.31") or unset';
  const rule = NUMERIC_FACTS.get(key);
  if (!rule) return undefined;
  return rule.re.test(value) && Number(value) <= rule.max ? undefined : `must be ${rule.what} or unset`;
}

/** One tarball in the CHROOTS fact, its name (SUITE-ARCH) not yet split. */
export interface ChrootEntry {
  name: string;
  /** seconds since 1970 */
  created: number;
  size: number;
  sha256: string;
}

const CHROOT_ENTRY_RE = /^([a-z0-9][a-z0-9.+-]{0,63}-[a-z0-9][a-z0-9-]{0,31}):(\d{1,11}):(\d{1,15}):([0-9a-f]{64})$/;
const MAX_CHROOTS = 256;

/** The CHROOTS fact (`SUITE-ARCH:CREATED:SIZE:SHA256 ...`, or unset or empty: none) as entries, or what is wrong with it. */
export function parseChrootsFact(value: string | undefined): { ok: true; entries: ChrootEntry[] } | { ok: false; problem: string } {
  if (value === undefined || value === 'unset' || value === '') return { ok: true, entries: [] };
  const words = value.split(' ');
  if (words.length > MAX_CHROOTS) return { ok: false, problem: `lists ${words.length} tarballs, more than ${MAX_CHROOTS}` };
  const entries: ChrootEntry[] = [];
  const seen = new Set<string>();
  for (const w of words) {
    const m = CHROOT_ENTRY_RE.exec(w);
    if (!m) return { ok: false, problem: `must be SUITE-ARCH:CREATED:SIZE:SHA256 entries separated by single spaces (or unset), not ${excerpt(w)}` };
    const [, name = '', created = '', size = '', sha256 = ''] = m;
    if (seen.has(name)) return { ok: false, problem: `lists ${name} twice` };
    seen.add(name);
    entries.push({ name, created: Number(created), size: Number(size), sha256 });
  }
  return { ok: true, entries };
}

export function chrootsFactProblem(value: string): string | undefined {
  const r = parseChrootsFact(value);
  return r.ok ? undefined : r.problem;
}

/**
 * A CHROOTS name split into suite and architecture. Both may hold hyphens
 * (bookworm-backports, hurd-amd64): the architecture is the longest of
 * `arches` the name ends with, else what follows the last hyphen.
 */
export function splitChrootName(name: string, arches: readonly string[]): { suite: string; arch: string } {
  const known = [...arches].sort((a, b) => b.length - a.length).find((a) => name.endsWith(`-${a}`) && name.length > a.length + 1);
  const at = known ? name.length - known.length - 1 : name.lastIndexOf('-');
  return { suite: name.slice(0, at), arch: name.slice(at + 1) };
}

export type ParsedFacts = { ok: true; facts: Array<[string, string]> } | { ok: false; problems: string[] };

export function parseFacts(output: Uint8Array): ParsedFacts {
  const problems: string[] = [];
  if (output.length > MAX_OUTPUT_BYTES) {
    return { ok: false, problems: [`output is larger than ${MAX_OUTPUT_BYTES} bytes`] };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(output);
  } catch {
    return { ok: false, problems: ['output is not valid UTF-8'] };
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > MAX_FACTS) return { ok: false, problems: [`output has ${lines.length} lines, more than ${MAX_FACTS}`] };
  const facts: Array<[string, string]> = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const n = i + 1;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push(`line ${n}: not KEY=VALUE: ${excerpt(line)}`);
      return;
    }
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (!KEY_RE.test(key)) problems.push(`line ${n}: bad key ${excerpt(key)} (use A-Z, 0-9, _)`);
    else if ((MAIN_SIDE_KEYS as readonly string[]).includes(key)) problems.push(`line ${n}: key ${key} is reserved for the main node`);
    else if (seen.has(key)) problems.push(`line ${n}: ${key} given twice`);
    else if (value.length > (key === 'CHROOTS' ? MAX_CHROOTS_CHARS : MAX_VALUE_CHARS)) {
      problems.push(`line ${n}: value of ${key} is longer than ${key === 'CHROOTS' ? MAX_CHROOTS_CHARS : MAX_VALUE_CHARS} characters`);
    } else if (BAD_CHARS_RE.test(value)) problems.push(`line ${n}: value of ${key} contains control characters: ${excerpt(value)}`);
    else if (numericFactProblem(key, value)) problems.push(`line ${n}: ${key} ${numericFactProblem(key, value) ?? ''}, not ${excerpt(value)}`);
    else if (key === 'CHROOTS' && chrootsFactProblem(value)) problems.push(`line ${n}: CHROOTS ${chrootsFactProblem(value) ?? ''}`);
    else {
      seen.add(key);
      facts.push([key, value]);
    }
  });
  for (const k of REQUIRED_FACTS) if (!seen.has(k) && !problems.some((p) => p.includes(` ${k} `))) problems.push(`missing ${k}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5);
    if (problems.length > 5) shown.push(`and ${problems.length - 5} more problems`);
    return { ok: false, problems: shown };
  }
  return { ok: true, facts };
}

/** Node clock minus main clock, in seconds, from EPOCH (or DATETIME) and the main clock at mid-exchange. */
export function clockOffset(facts: ReadonlyMap<string, string>, mainEpochMs: number): number | null {
  const epoch = facts.get('EPOCH');
  let nodeMs: number | undefined;
  if (epoch && /^\d+(\.\d+)?$/.test(epoch)) nodeMs = Number(epoch) * 1000;
  else {
    const dt = facts.get('DATETIME');
    if (dt && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(dt)) nodeMs = Date.parse(dt);
  }
  if (nodeMs === undefined || !Number.isFinite(nodeMs)) return null;
  return Math.round(nodeMs - mainEpochMs) / 1000;
}

/** A node-information file: the node's facts, then what the main node adds. */
export function formatNodeInformation(facts: ReadonlyArray<readonly [string, string]>, extra: ReadonlyArray<readonly [string, string]>): string {
  return [...facts, ...extra].map(([k, v]) => `${k}=${v}\n`).join('');
}

/** KEY=VALUE lines as a map (node-information files, work orders, status files). */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** Read a node-information file back. */
export const parseNodeInformation = parseKeyValues;
