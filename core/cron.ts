/**
 * Timer expressions: the five cron fields (minute hour day-of-month month
 * day-of-week), numbers only, with `*`, `N`, `N-M`, `*\/S`, `N-M/S` and comma
 * lists. The same expression drives the crontab, Jenkins' `timed` trigger and,
 * translated, systemd's OnCalendar=. Pure functions.
 */

export interface CronField {
  /** the field as written */
  text: string;
  /** true for a bare `*` */
  any: boolean;
  /** every value it matches, ascending */
  values: number[];
}

export interface CronSpec {
  text: string;
  minute: CronField;
  hour: CronField;
  dom: CronField;
  month: CronField;
  /** 0..6, Sunday 0 (7 is read as 0) */
  dow: CronField;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

function parseField(text: string, f: (typeof FIELDS)[number]): CronField | string {
  if (text === '*') return { text, any: true, values: range(f.min, f.name === 'day-of-week' ? 6 : f.max, 1) };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) return `${f.name} field "${text}": "${part}" is not N, N-M, *, */S or N-M/S`;
    const star = m[1] === '*';
    const lo = star ? f.min : Number(m[2]);
    const hi = star ? f.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi) return `${f.name} field "${text}": ${part} is outside ${f.min}-${f.max} or backwards`;
    if (step < 1 || step > f.max - f.min + 1) return `${f.name} field "${text}": a step must be 1-${f.max - f.min + 1}`;
    for (const v of range(lo, hi, step)) out.add(f.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return { text, any: false, values: [...out].sort((a, b) => a - b) };
}

function range(lo: number, hi: number, step: number): number[] {
  const r: number[] = [];
  for (let v = lo; v <= hi; v += step) r.push(v);
  return r;
}

/** Parse a timer expression, or say what is wrong with it. */
export function parseCron(text: string): CronSpec | string {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) return `"${text}" must have 5 fields (minute hour day-of-month month day-of-week), it has ${parts.length}`;
  const fields: CronField[] = [];
  for (const [i, f] of FIELDS.entries()) {
    const r = parseField(parts[i] as string, f);
    if (typeof r === 'string') return r;
    fields.push(r);
  }
  const [minute, hour, dom, month, dow] = fields as [CronField, CronField, CronField, CronField, CronField];
  return { text: parts.join(' '), minute, hour, dom, month, dow };
}

/** Does the spec fire at this minute (in the time zone of `d`'s getters: local time)? Cron's rule: day-of-month OR day-of-week when both are restricted. */
export function cronMatches(spec: CronSpec, d: Date): boolean {
  if (!spec.minute.values.includes(d.getMinutes()) || !spec.hour.values.includes(d.getHours()) || !spec.month.values.includes(d.getMonth() + 1)) return false;
  const domOk = spec.dom.values.includes(d.getDate());
  const dowOk = spec.dow.values.includes(d.getDay());
  if (!spec.dom.any && !spec.dow.any) return domOk || dowOk;
  return domOk && dowOk;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function sdField(f: CronField, width: number): string {
  return f.any ? '*' : f.values.map((v) => String(v).padStart(width, '0')).join(',');
}

/**
 * systemd OnCalendar= expressions with the same firing times. Cron fires when
 * day-of-month OR day-of-week matches (both restricted); systemd requires both,
 * so that case becomes two expressions (a timer fires on either).
 */
export function cronToOnCalendar(spec: CronSpec): string[] {
  const time = `${sdField(spec.hour, 2)}:${sdField(spec.minute, 2)}:00`;
  const date = (dom: CronField): string => `*-${sdField(spec.month, 2)}-${sdField(dom, 2)}`;
  const days = (dow: CronField): string => (dow.any ? '' : `${dow.values.map((v) => DAY_NAMES[v] as string).join(',')} `);
  if (!spec.dom.any && !spec.dow.any) {
    return [`${date(spec.dom)} ${time}`, `${days(spec.dow)}${date({ text: '*', any: true, values: [] })} ${time}`];
  }
  return [`${days(spec.dow)}${date(spec.dom)} ${time}`];
}
