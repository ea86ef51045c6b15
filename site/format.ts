/** Pure formatting for the dashboard: dates, durations, offsets, URLs, HTML escaping. */
import { LINE_AND_BIDI_CONTROLS } from '../core/errors.js';

/** `2026-11-28T11:12:57.123Z` → `2026-11-28 11:12 UTC`; anything unparsable is shown as given. */
export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  // the DB's timestamps are toISOString() output; anything else is shown as it is
  if (iso.length >= 16 && iso[10] === 'T' && iso[4] === '-' && iso[13] === ':') return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  return iso;
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A node's clock offset: `+398 d 6 h 23 min`, `-2 s`, `0 s`. */
export function fmtOffset(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const sign = seconds < 0 ? '-' : '+';
  let s = Math.round(Math.abs(seconds));
  if (s === 0) return '0 s';
  if (s < 60) return `${sign}${s} s`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  return sign + [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ');
}

export function percent(n: number, total: number): string {
  if (total === 0) return '0.0%';
  return `${((100 * n) / total).toFixed(1)}%`;
}

/** The prefix that leads from a page at `depth` folders below the site root back to it. */
export function rootFrom(depth: number): string {
  return depth === 0 ? './' : '../'.repeat(depth);
}

/**
 * A path segment for a URL. Names and versions reaching a path are validated
 * (Debian policy) before they get here; this also makes `+`, `:` and `~` safe.
 */
export function urlSegment(s: string): string {
  return encodeURIComponent(s);
}

/** CSS class for a status: letters, digits and dashes only. */
export function statusClass(status: string): string {
  let cls = statusClasses.get(status);
  if (cls === undefined) {
    cls = `st-${status.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
    // a page shows a handful of statuses, thousands of times: remember them (a bounded few)
    if (statusClasses.size < 64) statusClasses.set(status, cls);
  }
  return cls;
}
const statusClasses = new Map<string, string>();

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/*
 * What HTML escaping leaves through but a page must not show raw: the C0 controls but tab and
 * newline (ESC among them), DEL and the C1 controls, the line and paragraph separators and the
 * bidi controls (core/errors.ts). A browser would obey some (a bidi override reorders the line:
 * "evil\u202etxt.exe" shows as "evilexe.txt") and hide the others; they are shown as `\u202e`,
 * as excerpt() quotes them in messages.
 */
const HTML_UNSAFE = `&<>"'\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${LINE_AND_BIDI_CONTROLS}`;
const HTML_UNSAFE_TEST = new RegExp(`[${HTML_UNSAFE}]`);
const HTML_UNSAFE_RE = new RegExp(`[${HTML_UNSAFE}]`, 'g');

function htmlChar(c: string): string {
  return HTML_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text for HTML, in an element or a quoted attribute: the one escaping of the site, used for the
 * templates' `<%= %>` (render.ts) and the rows model.ts builds. `&<>"'` become entities;
 * controls, separators and bidi controls become visible `\uXXXX` text (tab and newline are kept).
 */
export function escapeHtml(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return HTML_UNSAFE_TEST.test(s) ? s.replace(HTML_UNSAFE_RE, htmlChar) : s;
}
