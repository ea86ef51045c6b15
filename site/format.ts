/** Pure formatting for the dashboard: dates, durations, offsets, URLs. */

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

/** Text for HTML, in an element or a quoted attribute: the same escaping as the templates' `<%= %>`. */
export function escapeHtml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c) : s;
}
