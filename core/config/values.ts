/** One value of a configuration, checked for its kind (core/config/schema.ts): the default, with a problem, when it is refused. */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseCron } from '../cron.js';
import { excerpt } from '../errors.js';
import { VARIATIONS } from '../protocol.js';
import { describe, type Problems } from './problems.js';
import { MAX_PATH, MAX_STRING, MAX_TIMER, SUITE_RE, URL_RE, type Kind } from './schema.js';
import { isObj, type JobConfig } from './types.js';

const VARIATION_NAMES = VARIATIONS.map((v) => v.key);

/** A value that is in the file, checked for its kind; the default when it is refused. */
export function readGiven(p: Problems, v: unknown, at: string, t: Kind, dflt: unknown): unknown {
  const hasDefault = dflt !== undefined;
  switch (t.kind) {
    case 'string':
      return readString(p, v, at, t, dflt as string | undefined, hasDefault);
    case 'path':
      return readString(p, v, at, { kind: 'string', max: MAX_PATH }, dflt as string | undefined, hasDefault);
    case 'url':
      return readString(p, v, at, { kind: 'string' }, dflt as string | undefined, hasDefault);
    case 'cron':
      return readCron(p, v, at, dflt as string);
    case 'bool':
      return readBool(p, v, at, dflt as boolean);
    case 'number':
      return readNumber(p, v, at, t, dflt as number);
    case 'list':
      return readList(p, v, at, t, dflt as string[]);
    default:
      throw new Error(`${at}: a ${t.kind} is not read as one value`);
  }
}

/** A path resolved (and bounded again), a URL kept or a path beside it resolved, a list made a Set. */
export function complete(p: Problems, baseDir: string, at: string, t: Kind, value: unknown): unknown {
  if (t.kind === 'path') {
    const s = value as string;
    const r = resolve(baseDir, s.startsWith('~/') ? `${homedir()}${s.slice(1)}` : s);
    if (r.length <= MAX_PATH) return r;
    p.err(at, `is ${r.length} characters long once resolved; at most ${MAX_PATH}`);
    return undefined;
  }
  if (t.kind === 'url') {
    const s = value as string;
    if (URL_RE.test(s)) return s;
    const r = resolve(baseDir, s);
    if (t.resolvedMax !== undefined && r.length > t.resolvedMax) p.err(at, `is ${r.length} characters long once resolved; at most ${t.resolvedMax}`);
    return r;
  }
  if (t.kind === 'list' && t.set) return new Set(value as string[]);
  return value;
}

type StringKind = Extract<Kind, { kind: 'string' }>;

/** `numbers`: a number is taken as its text (a variation such as PARALLEL: 3); elsewhere a number is an error, not coerced. */
function readString(
  p: Problems,
  v: unknown,
  at: string,
  t: StringKind,
  fallback: string | undefined,
  hasDefault: boolean,
  numbers = false,
): string | undefined {
  if (typeof v !== 'string' && !(typeof v === 'number' && numbers)) {
    p.err(at, `must be a string, got ${describe(v)}${typeof v === 'number' ? ` (quote it if you mean the text "${v}")` : ''}`);
    return fallback;
  }
  const s = String(v);
  if (s === '') {
    p.err(at, hasDefault ? 'is empty; leave the key out for the default' : 'is empty; this key is required');
    return fallback;
  }
  const max = t.max ?? MAX_STRING;
  const len = t.bytes ? Buffer.byteLength(s) : s.length;
  if (len > max) {
    p.err(at, `is ${len} ${t.bytes ? 'bytes' : 'characters'} long; at most ${max}${t.why ? ` (${t.why})` : ''}`);
    return fallback;
  }
  if (t.re && !t.re.test(s)) {
    p.err(at, `${excerpt(s)} is not ${t.what ?? 'valid'}`);
    return fallback;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\0-\x1f\x7f]/.test(s)) {
    p.err(at, 'must not contain control characters');
    return fallback;
  }
  return s;
}

function readCron(p: Problems, v: unknown, at: string, fallback: string): string {
  const text = readString(p, v, at, { kind: 'string', max: MAX_TIMER }, fallback, true) ?? fallback;
  const spec = parseCron(text);
  if (typeof spec !== 'string') return spec.text;
  p.err(at, spec);
  return fallback;
}

function readBool(p: Problems, v: unknown, at: string, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  p.err(at, `must be true or false, got ${describe(v)}`);
  return fallback;
}

function readNumber(p: Problems, v: unknown, at: string, t: Extract<Kind, { kind: 'number' }>, fallback: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (t.integer && !Number.isInteger(v))) {
    p.err(at, `must be ${t.integer ? 'an integer' : 'a number'}, got ${describe(v)}`);
    return fallback;
  }
  if (v < t.min || v > t.max) {
    p.err(at, `${v} is out of range; use ${t.min}..${t.max}`);
    return fallback;
  }
  return v;
}

function readList(p: Problems, v: unknown, at: string, t: Extract<Kind, { kind: 'list' }>, fallback: string[]): string[] {
  if (!Array.isArray(v) || (v.length === 0 && !t.allowEmpty)) {
    p.err(at, `must be a ${t.allowEmpty ? '' : 'non-empty '}list, got ${describe(v)}`);
    return fallback;
  }
  const out: string[] = [];
  // a Set: a blacklist of tens of thousands is checked in linear time
  const seen = new Set<string>();
  v.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || !t.re.test(item)) p.err(`${at}[${i}]`, `${describe(item)} is not ${t.what}`);
    else if (seen.has(item)) p.err(`${at}[${i}]`, `"${item}" is listed twice`);
    else {
      seen.add(item);
      out.push(item);
    }
  });
  return out;
}

export function readPair(p: Problems, v: unknown, at: string): [string, string] | undefined {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => typeof n === 'string')) {
    p.err(at, `must list exactly two node names, got ${describe(v)}`);
    return undefined;
  }
  return [v[0] as string, v[1] as string];
}

/** jobs.<NAME>.variations: build1 and build2, each a mapping of core/protocol.ts's variations to values their patterns accept. */
export function readVariations(p: Problems, v: unknown, at: string): JobConfig['variations'] {
  const out: JobConfig['variations'] = { build1: {}, build2: {} };
  if (v === undefined || v === null) return out;
  if (!isObj(v)) {
    p.err(at, `must be a mapping like { build2: { TZ: Etc/GMT-13 } }, got ${describe(v)}`);
    return out;
  }
  p.unknownKeys(v, at, ['build1', 'build2']);
  for (const b of ['build1', 'build2'] as const) {
    const m = v[b];
    if (m === undefined || m === null) continue;
    if (!isObj(m)) {
      p.err(`${at}.${b}`, `must be a mapping of variations like { TZ: Etc/GMT-13 }, got ${describe(m)}`);
      continue;
    }
    p.unknownKeys(m, `${at}.${b}`, VARIATION_NAMES);
    for (const { key, re, what } of VARIATIONS) {
      if (m[key] === undefined || m[key] === null) continue;
      // a number is its text here (PARALLEL: 3); node-build.sh checks each value again
      const s = readString(p, m[key], `${at}.${b}.${key}`, { kind: 'string', re, what }, '', true, true);
      if (s) out[b][key] = s;
    }
  }
  return out;
}

/** chroot.base: overlay suite -> base suite, each a suite name, an overlay not its own base. */
export function readSuiteMap(p: Problems, v: unknown, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isObj(v)) {
    p.err(at, `must be a mapping of suite names like { experimental: unstable }, got ${describe(v)}`);
    return out;
  }
  for (const [k, b] of Object.entries(v)) {
    if (!SUITE_RE.test(k)) {
      p.err(`${at}.${excerpt(k, 64)}`, 'is not a suite name (lower case letters, digits, . + -)');
      continue;
    }
    if (typeof b !== 'string' || !SUITE_RE.test(b)) {
      p.err(`${at}.${k}`, `must be the name of the suite whose chroot ${k} extends, got ${describe(b)}`);
      continue;
    }
    if (b === k) {
      p.err(`${at}.${k}`, 'is its own base: leave it out, a suite gets a chroot of its own by default');
      continue;
    }
    out[k] = b;
  }
  return out;
}
