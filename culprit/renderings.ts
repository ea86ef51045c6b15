/**
 * What each build's variation values look like inside a package: the needles
 * the hint search (culprit/hints.ts) looks for, made from the values the node
 * recorded (never from the defaults: jobs change them). The scan that finds
 * them in a line is in culprit/categories.ts. Pure.
 *
 * A needle is a value of one build that the other build does not share: a
 * value both builds had, or one inside a value of the other build, is no
 * needle, and neither is a short or generic value ("C", "0022", "dash",
 * "linux" on its own): those count only in a distinctive form ("-j4",
 * "parallel=4", "TERM=linux"), or as a pair (a year, a uid: on a removed line
 * and an added line of one hunk). Build 1's needles count on removed lines,
 * build 2's on added lines.
 *
 * Dates: each build saw the instants from its start to its end, shifted by
 * its DATE (a faketime spec), and printed them in its TZ or in UTC. Its days
 * are rendered as Y-m-d, YYYYMMDD, "03 Dec 2026" (RFC 2822's date part),
 * ctime's "Thu Dec  3", C's __DATE__ "Dec  3 2026", "December 2026",
 * zipinfo's "26-Dec-03", and long forms in the builds' locales; its epoch
 * seconds are any 10-digit number inside its window (an hour of slack each
 * side). The rule that tells DATE from TZ: a day build 1 printed names TZ
 * when build 2's instants, printed in build 1's zone, give that day too (the
 * same instants in another zone); otherwise it names DATE (other instants).
 * Likewise for build 2, with build 1's instants in build 2's zone. An epoch
 * or a year names DATE. A day that no varied variation explains (the builds
 * ran on different days with DATE the same) is a kind of difference only.
 */

export interface BuildFacts {
  /** build_runs.variations: what the node's status file recorded (VAR_* keys without the prefix): the effective values, e.g. HOSTNAME the real host name when the job said "node", PARALLEL a number, plus facts such as KERNEL ("Linux 6.1.0-...") */
  variations: Readonly<Record<string, string>>;
  /** build_runs.not_applied: variation -> why it was not applied (such a variation cannot be a culprit of that build) */
  notApplied: Readonly<Record<string, string>>;
  /** ISO 8601 start of the build, and its duration: with DATE and TZ they give the dates the build saw */
  startedAt: string;
  durationS: number;
}

export type Side = 1 | 2;

/** Build 1's or build 2's half of a pair. */
export const bySide = <T>(pair: readonly [T, T], side: Side): T => (side === 1 ? pair[0] : pair[1]);
export type NeedleKind = 'date' | 'user';

export interface Needle {
  text: string;
  side: Side;
  /** the variations a hit names: several when one build has the value in several (LANG and LC_ALL); none when no varied variation explains it */
  variations: readonly string[];
  category: string | null;
  /** dates and users, which an archive listing shows as its own kind of difference */
  kind?: NeedleKind;
  /** a time-zone offset counts only right after a time of day */
  afterTime?: boolean;
}

/** Tokens too short to stand alone (a year, a uid): a hit needs one of `a` on a removed line and one of `b` on an added line of one hunk. */
export interface PairToken {
  a: readonly string[];
  b: readonly string[];
  variations: readonly string[];
  category: string;
  kind: NeedleKind;
}

export interface Window {
  from: number;
  to: number;
}

/** Epoch seconds each build's clock may have shown (with slack), and what a hit names. */
export interface EpochWindows {
  w1: Window | null;
  w2: Window | null;
  variations: readonly string[];
}

export interface Renderings {
  needles: Needle[];
  pairs: PairToken[];
  epochs: EpochWindows;
  /** whether a variation's recorded values differ between the builds (so that it may be a culprit) */
  varied: (key: string) => boolean;
}

const MAX_NEEDLE = 200;
const GENERIC = new Set(['unset', 'none', '(none)', 'native', 'node', 'real', 'localhost', 'root', 'linux', 'debian', 'ubuntu', 'build', 'user', 'home']);

/** Long enough, not absurdly long, and not a word that shows up everywhere. */
export function distinctive(s: string): boolean {
  return s.length >= 4 && s.length <= MAX_NEEDLE && !GENERIC.has(s.toLowerCase());
}

/** A recorded DATE as its spec: "faketime +398 days (NO_FAKE_STAT=1)" and "+398 days" alike; "real clock" and "real" as "real". */
export function dateSpec(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v
    .replace(/^faketime\s+/, '')
    .replace(/\s*\([^)]*\)\s*$/, '')
    .trim();
  return s === 'real clock' || s === 'real' ? 'real' : s;
}

/**
 * The variations whose recorded values differ. A value both builds lack (an
 * older row) is no difference; one only a build has is (the chroot backend
 * records DOMAINNAME only for the build that sets it).
 */
export function variedKeys(b1: BuildFacts, b2: BuildFacts): (key: string) => boolean {
  const norm = (k: string, v: string | undefined): string | undefined => (k === 'DATE' ? dateSpec(v) : v);
  return (key) => norm(key, b1.variations[key]) !== norm(key, b2.variations[key]);
}

// ---------------------------------------------------------------- values

type Forms = (v: string, b: BuildFacts, other: BuildFacts) => string[];

const asIs: Forms = (v) => (v === 'unset' ? [] : [v]);
const assigned =
  (name: string): Forms =>
  (v) =>
    v === 'unset' ? [] : [`${name}=${v}`, `${name}="${v}"`, `${name}='${v}'`];

/** A locale as programs spell it: et_EE.UTF-8, et_EE.utf8 and et_EE; a LANGUAGE list also by its entries. */
const localeForms: Forms = (v) => {
  if (v === 'unset' || v === 'C' || v === 'POSIX' || v.startsWith('C.')) return [];
  const out = new Set<string>([v]);
  for (const entry of v.split(':')) {
    out.add(entry);
    const m = /^([A-Za-z]{2,3}_[A-Za-z]{2})(?:\.([A-Za-z0-9-]+))?/.exec(entry);
    if (m?.[1]) out.add(m[1]);
    if (m?.[1] && m[2]?.toUpperCase() === 'UTF-8') out.add(`${m[1]}.utf8`);
  }
  return [...out];
};

/** NAME:UID[:GECOS:SHELL]: the name and the GECOS, whole and its first field (the uid is a pair token). */
const userForms: Forms = (v) => {
  const [name = '', , gecos = ''] = v.split(':');
  return [name, gecos, gecos.split(',')[0] ?? ''];
};

const parallelForms: Forms = (v) => (/^\d{1,4}$/.test(v) ? [`-j${v}`, `-j ${v}`, `--jobs=${v}`, `--jobs ${v}`, `parallel=${v}`] : []);

/** The build directory, and its parent (/build/1st, /build/2/PKG-VER) when that is long enough to be distinctive. */
const pathForms: Forms = (v) => {
  const parent = v.slice(0, v.lastIndexOf('/'));
  return parent.length >= 8 ? [v, parent] : [v];
};

/** The PATH entries one build has and the other lacks (build 1's whole PATH is inside build 2's). */
const pathEntries: Forms = (v, _b, other) => {
  const theirs = new Set((other.variations.PATH ?? '').split(':'));
  return v.split(':').filter((e) => e !== '' && !theirs.has(e));
};

/** What `uname -r` said: the recorded KERNEL's release or, under setarch --uname-2.6, the kernel's 2.6.(60+minor) rewrite of it. */
export function kernelRelease(b: BuildFacts): string | undefined {
  const release = b.variations.KERNEL?.replace(/^Linux\s+/, '');
  if (!release || !/^\d+\.\d+/.test(release)) return undefined;
  if (!(b.variations.KERNEL_PERSONALITY ?? '').includes('--uname-2.6')) return release;
  // as the kernel's override_release(): "2.6.%u%s", the minor version + 60, then what follows "X.Y.Z"
  let i = 0;
  for (let dots = 0; i < release.length; i++) {
    const c = release[i]!;
    if ((c === '.' && ++dots >= 3) || !(c === '.' || (c >= '0' && c <= '9'))) break;
  }
  return `2.6.${Number(release.split('.')[1]) + 60}${release.slice(i)}`;
}

const kernelForms: Forms = (_v, b) => {
  const r = kernelRelease(b);
  const short = r && /^2\.6\.\d+/.exec(r)?.[0];
  return !r ? [] : short && short !== r ? [r, short] : [r];
};

interface ValueRule {
  key: string;
  /** where the values come from, when not the variation itself: the kernel release from the KERNEL fact */
  source?: string;
  forms: Forms;
  category: string | null;
  kind?: NeedleKind;
  /** forms distinctive by their making ("-j4", "TERM=linux"), however short */
  formed?: true;
}

/** Each variation's renderings, in the variation table's order; dates are below. */
const VALUE_RULES: readonly ValueRule[] = [
  { key: 'TZ', forms: asIs, category: 'time-zone' },
  { key: 'LANG', forms: localeForms, category: 'locale' },
  { key: 'LC_ALL', forms: localeForms, category: 'locale' },
  { key: 'LANGUAGE', forms: localeForms, category: 'locale' },
  { key: 'TERM', forms: assigned('TERM'), category: 'environment', formed: true },
  { key: 'COLUMNS', forms: assigned('COLUMNS'), category: 'environment', formed: true },
  { key: 'HOME', forms: asIs, category: 'home-directory' },
  { key: 'PATH', forms: pathEntries, category: 'environment' },
  { key: 'CAPTURE_ENVIRONMENT', forms: asIs, category: 'environment' },
  { key: 'HOSTNAME', forms: asIs, category: 'host-name' },
  { key: 'DOMAINNAME', forms: asIs, category: 'domain-name' },
  { key: 'PARALLEL', forms: parallelForms, category: 'parallel-jobs', formed: true },
  { key: 'BUILD_USER', forms: userForms, category: 'build-user', kind: 'user' },
  { key: 'NOCHECK', forms: asIs, category: 'environment' },
  { key: 'KERNEL_PERSONALITY', source: 'KERNEL', forms: kernelForms, category: 'kernel-version' },
  { key: 'BUILD_PATH', forms: pathForms, category: 'build-path' },
];

/** Every value needle of both builds, before the ones they share are dropped. */
function valueNeedles(b1: BuildFacts, b2: BuildFacts, varied: (k: string) => boolean): Needle[] {
  const out: Needle[] = [];
  for (const rule of VALUE_RULES) {
    const source = rule.source ?? rule.key;
    // two nodes' kernels differ whatever the personality: a kind of difference then, not a culprit
    if (!varied(source) && !varied(rule.key)) continue;
    const variations = varied(rule.key) ? [rule.key] : [];
    for (const [side, b, other] of [
      [1, b1, b2],
      [2, b2, b1],
    ] as const) {
      const v = b.variations[source];
      if (v === undefined) continue;
      for (const text of rule.forms(v, b, other)) {
        if (rule.formed ? text.length <= MAX_NEEDLE : distinctive(text))
          out.push({ text, side, variations, category: rule.category, ...(rule.kind ? { kind: rule.kind } : {}) });
      }
    }
  }
  return out;
}

/**
 * Drops what both builds share (a text on both sides, or one side's text
 * inside one of the other's), and merges a text that several variations of
 * one build have into one needle naming them all.
 */
export function settleNeedles(all: readonly Needle[]): Needle[] {
  const texts: [string[], string[]] = [[], []];
  for (const n of all) bySide(texts, n.side).push(n.text);
  const merged = new Map<string, Needle>();
  for (const n of all) {
    if (bySide(texts, n.side === 1 ? 2 : 1).some((t) => t.includes(n.text))) continue;
    const key = `${n.side}\u0000${n.text}`;
    const had = merged.get(key);
    if (!had) merged.set(key, { ...n, variations: [...n.variations] });
    else had.variations = [...new Set([...had.variations, ...n.variations])];
  }
  return [...merged.values()];
}

/** The uids of BUILD_USER, when the builds' users differ: a pair token. */
function uidPairs(b1: BuildFacts, b2: BuildFacts, varied: (k: string) => boolean): PairToken[] {
  const uid = (b: BuildFacts): string | undefined => /^[^:]*:(\d{3,5})(?::|$)/.exec(b.variations.BUILD_USER ?? '')?.[1];
  const [u1, u2] = [uid(b1), uid(b2)];
  if (!u1 || !u2 || u1 === u2 || !varied('BUILD_USER')) return [];
  return [{ a: [u1], b: [u2], variations: ['BUILD_USER'], category: 'build-user', kind: 'user' }];
}

// ---------------------------------------------------------------- dates

/** A time zone: an IANA name Intl knows, or a fixed offset (minutes east of UTC). */
interface Zone {
  iana: string | null;
  fixedMin: number;
}

const UTC: Zone = { iana: null, fixedMin: 0 };
const formats = new Map<string, Intl.DateTimeFormat>();

function ianaFormat(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    const o = { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' } as const;
    f = new Intl.DateTimeFormat('en-US', o);
    formats.set(tz, f);
  }
  return f;
}

/** TZ as Intl reads it (Etc/GMT+12 is UTC-12 there too); else a POSIX "NAME[+-]H[:MM]" (the sign inverted); else UTC. */
function zoneOf(tz: string | undefined): Zone {
  if (!tz) return UTC;
  try {
    ianaFormat(tz);
    return { iana: tz, fixedMin: 0 };
  } catch {
    const m = /^(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{1,16}>)([+-]?)(\d{1,2})(?::(\d\d))?/.exec(tz);
    const min = m ? Number(m[2]) * 60 + Number(m[3] ?? 0) : 0;
    return m ? { iana: null, fixedMin: m[1] === '-' ? min : -min } : UTC;
  }
}

/** The wall clock at `ms` in a zone, as a UTC timestamp of the same fields, and the zone's offset then. */
function wallClock(ms: number, z: Zone): { wall: number; offsetMin: number } {
  if (z.iana === null) return { wall: ms + z.fixedMin * 60_000, offsetMin: z.fixedMin };
  const p: Record<string, number> = {};
  for (const part of ianaFormat(z.iana).formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0);
  return { wall, offsetMin: Math.round((wall - Math.floor(ms / 60_000) * 60_000) / 60_000) };
}

const SPEC_UNITS: Record<string, number> = { second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 };

/** Where a build's clock started: its real start, moved by the faketime spec of its DATE ("+N days ...", "@EPOCH", "YYYY-MM-DD[ HH:MM:SS]" in its zone). */
export function clockStart(realStart: number, date: string | undefined, zone: Zone = UTC): number {
  const spec = dateSpec(date) ?? 'real';
  const epoch = /^@(\d{1,12})$/.exec(spec);
  if (epoch) return Number(epoch[1]) * 1000;
  const abs = /^(\d{4})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d))?$/.exec(spec);
  if (abs) {
    const [y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0] = abs.slice(1).map((x) => Number(x ?? 0));
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    return wall - wallClock(wall, zone).offsetMin * 60_000;
  }
  const t = new Date(realStart);
  for (const m of spec.matchAll(/([+-]\d{1,6}) (year|month|week|day|hour|minute|second)s?/g)) {
    const n = Number(m[1]);
    if (m[2] === 'year') t.setUTCFullYear(t.getUTCFullYear() + n);
    else if (m[2] === 'month') t.setUTCMonth(t.getUTCMonth() + n);
    else t.setTime(t.getTime() + n * SPEC_UNITS[m[2]!]!);
  }
  return t.getTime();
}

/** The instants (ms) a build's clock showed; null when its start is not a date. Capped at two weeks. */
function clockWindow(b: BuildFacts): Window | null {
  const start = Date.parse(b.startedAt);
  if (!Number.isFinite(start)) return null;
  const from = clockStart(start, b.variations.DATE, zoneOf(b.variations.TZ));
  const dur = Math.min(Math.max(Number.isFinite(b.durationS) ? b.durationS : 0, 0), 14 * 86_400) * 1000;
  return { from, to: from + dur };
}

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_SLACK_MS = 30 * 60_000;
const EPOCH_SLACK_S = 3600;

/** A day's renderings (wall: a UTC timestamp of the wall clock's fields), in C and in `locales`. */
function dayTexts(wall: number, locales: readonly string[]): string[] {
  const t = new Date(wall);
  const [y, m, d] = [t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const sp = String(d).padStart(2, ' ');
  const out = [`${y}-${p2(m + 1)}-${p2(d)}`, `${y}${p2(m + 1)}${p2(d)}`, `${p2(d)} ${MON[m]} ${y}`, `${WDAY[t.getUTCDay()]} ${MON[m]} ${sp}`];
  out.push(`${MON[m]} ${sp} ${y}`, `${MONTH[m]} ${y}`, `${p2(y % 100)}-${MON[m]}-${p2(d)}`);
  if (d < 10) out.push(`${d} ${MON[m]} ${y}`);
  for (const l of locales) {
    for (const o of [
      { day: 'numeric', month: 'long', year: 'numeric' },
      { month: 'long', year: 'numeric' },
    ] as const) {
      out.push(new Intl.DateTimeFormat(l, { ...o, timeZone: 'UTC' }).format(wall));
    }
  }
  return out;
}

/** The renderings of the days a window covers in a zone, and the zone's offsets then (+hhmm, +hh:mm). */
function windowTexts(w: Window, z: Zone, locales: readonly string[]): { days: Set<string>; offsets: Set<string>; years: Set<string> } {
  const days = new Set<string>();
  const offsets = new Set<string>();
  const years = new Set<string>();
  const step = Math.max(3_600_000, Math.ceil((w.to - w.from) / 400));
  const seen = new Set<number>();
  for (let ms = w.from - DAY_SLACK_MS; ; ms = Math.min(ms + step, w.to + DAY_SLACK_MS)) {
    const { wall, offsetMin } = wallClock(ms, z);
    const day = Math.floor(wall / 86_400_000);
    if (!seen.has(day)) {
      seen.add(day);
      for (const s of dayTexts(day * 86_400_000, locales)) days.add(s);
      years.add(String(new Date(wall).getUTCFullYear()));
    }
    const a = Math.abs(offsetMin);
    const hh = String(Math.floor(a / 60)).padStart(2, '0');
    const mm = String(a % 60).padStart(2, '0');
    offsets.add(`${offsetMin < 0 ? '-' : '+'}${hh}${mm}`).add(`${offsetMin < 0 ? '-' : '+'}${hh}:${mm}`);
    if (ms >= w.to + DAY_SLACK_MS) break;
  }
  return { days, offsets, years };
}

/** The builds' locales as BCP 47 tags Intl supports (et_EE.UTF-8 -> et-EE), for long dates. */
function localesOf(bs: readonly BuildFacts[]): string[] {
  const out = new Set<string>();
  for (const b of bs) {
    const l = [b.variations.LC_ALL, b.variations.LANG].find((x) => x && x !== 'unset');
    const tag = l && /^[a-z]{2,3}_[A-Z]{2}/.test(l) ? l.slice(0, l.indexOf('_') + 3).replace('_', '-') : undefined;
    if (tag && tag !== 'en-US' && Intl.DateTimeFormat.supportedLocalesOf([tag]).length > 0) out.add(tag);
  }
  return [...out];
}

/** Date needles: the days each build printed (see the rule in this file's header), its zone's offsets, the years as a pair token, and the epoch windows. */
function dateNeedles(b1: BuildFacts, b2: BuildFacts, varied: (k: string) => boolean): { needles: Needle[]; pairs: PairToken[]; epochs: EpochWindows } {
  const [w1, w2] = [clockWindow(b1), clockWindow(b2)];
  const epochs: EpochWindows = { w1: w1 && epochWindow(w1), w2: w2 && epochWindow(w2), variations: varied('DATE') ? ['DATE'] : [] };
  if (!w1 || !w2 || (!varied('DATE') && !varied('TZ'))) return { needles: [], pairs: [], epochs };
  const [z1, z2] = [zoneOf(b1.variations.TZ), zoneOf(b2.variations.TZ)];
  const locales = localesOf([b1, b2]);
  const local = [windowTexts(w1, z1, locales), windowTexts(w2, z2, locales)] as const;
  const utc = [windowTexts(w1, UTC, locales), windowTexts(w2, UTC, locales)] as const;
  // the other build's instants in this build's zone: a day found there too differs by the zone only
  const crossed = [windowTexts(w2, z1, locales), windowTexts(w1, z2, locales)] as const;
  const needles: Needle[] = [];
  for (const side of [1, 2] as const) {
    const [mine, inUtc, other] = [bySide(local, side), bySide(utc, side), bySide(crossed, side)];
    for (const text of new Set([...mine.days, ...inUtc.days])) {
      const v = mine.days.has(text) && other.days.has(text) ? 'TZ' : 'DATE';
      const category = v === 'TZ' ? 'time-zone' : 'embedded-date';
      needles.push({ text, side, variations: varied(v) ? [v] : [], category, kind: 'date' });
    }
    if (varied('TZ')) for (const text of mine.offsets) needles.push({ text, side, variations: ['TZ'], category: 'time-zone', afterTime: true });
  }
  return { needles, pairs: yearPairs(local, utc, varied), epochs };
}

function epochWindow(w: Window): Window {
  return { from: Math.floor(w.from / 1000) - EPOCH_SLACK_S, to: Math.ceil(w.to / 1000) + EPOCH_SLACK_S };
}

type Texts = ReturnType<typeof windowTexts>;

/** The years each build printed, when they differ: DATE when the years differ in UTC too, else TZ (a zone across New Year). */
function yearPairs(local: readonly [Texts, Texts], utc: readonly [Texts, Texts], varied: (k: string) => boolean): PairToken[] {
  const years = (i: 0 | 1): Set<string> => new Set([...local[i].years, ...utc[i].years]);
  const [y1, y2] = [years(0), years(1)];
  const a = [...y1].filter((y) => !y2.has(y));
  const b = [...y2].filter((y) => !y1.has(y));
  if (a.length === 0 || b.length === 0) return [];
  const v = [...utc[0].years].some((y) => utc[1].years.has(y)) ? 'TZ' : 'DATE';
  return [{ a, b, variations: varied(v) ? [v] : [], category: v === 'TZ' ? 'time-zone' : 'embedded-date', kind: 'date' }];
}

/** Everything the hint search looks for in a comparison of these two builds. */
export function renderings(b1: BuildFacts, b2: BuildFacts): Renderings {
  const varied = variedKeys(b1, b2);
  const dates = dateNeedles(b1, b2, varied);
  const needles = settleNeedles([...valueNeedles(b1, b2, varied), ...dates.needles]);
  return { needles, pairs: [...dates.pairs, ...uidPairs(b1, b2, varied)], epochs: dates.epochs, varied };
}
