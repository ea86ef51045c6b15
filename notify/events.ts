/**
 * A notification's content, pure: an outbox row as the JSON a webhook gets and the text a mail
 * has, a test event, and a destination's opt-in filter.
 */
import { randomUUID } from 'node:crypto';
import type { NotifyFilter } from '../core/config.js';
import type { EventRow } from '../db/notify.js';

export interface NotifyEvent {
  /** the idempotency key: the same event sent twice has the same id */
  id: string;
  type: 'status-change' | 'test';
  suite: string;
  architecture: string;
  package: string;
  version: string;
  old_version: string | null;
  old_status: string;
  status: string;
  build_date: string;
  /** the package page: absolute with notify.site_url, else relative to the site's root */
  url: string;
}

function pageUrl(siteUrl: string | undefined, suite: string, arch: string, pkg: string): string {
  const path = ['rb-pkg', suite, arch, `${pkg}.html`].map(encodeURIComponent).join('/');
  return siteUrl ? `${siteUrl.replace(/\/+$/, '')}/${path}` : path;
}

export function toEvent(r: EventRow, siteUrl: string | undefined): NotifyEvent {
  return {
    id: r.uid,
    type: 'status-change',
    suite: r.suite,
    architecture: r.arch,
    package: r.package,
    version: r.version,
    old_version: r.old_version,
    old_status: r.old_status,
    status: r.status,
    build_date: r.created_at,
    url: pageUrl(siteUrl, r.suite, r.arch, r.package),
  };
}

/** `notify --test`: an event of no package's, sent past every filter. */
export function testEvent(siteUrl: string | undefined, now: Date): NotifyEvent {
  return {
    id: randomUUID(),
    type: 'test',
    suite: 'test',
    architecture: 'all',
    package: 'reprofarm-test',
    version: '1.0',
    old_version: null,
    old_status: 'reproducible',
    status: 'FTBR',
    build_date: now.toISOString(),
    url: pageUrl(siteUrl, 'test', 'all', 'reprofarm-test'),
  };
}

/** The message a batch is: one shape for webhooks (JSON) and mail (text). */
export interface Message {
  /** this try's id; the events' ids are what to dedupe on */
  delivery: string;
  sent_at: string;
  events: NotifyEvent[];
}

export function message(events: NotifyEvent[], now: Date): Message {
  return { delivery: randomUUID(), sent_at: now.toISOString(), events };
}

/** What one knows of a package to filter it: its maintainers' and uploaders' addresses, its sets. */
export interface PackageFacts {
  maintainers(suite: string, pkg: string): readonly string[];
  sets(pkg: string): readonly string[];
}

/** No filter given: every event; else an event whose package is named, maintained by one named, or in a named set. */
export function wanted(f: NotifyFilter, e: { suite: string; package: string }, facts: PackageFacts): boolean {
  if (f.packages.length === 0 && f.maintainers.length === 0 && f.sets.length === 0) return true;
  if (f.packages.includes(e.package)) return true;
  if (f.maintainers.length > 0) {
    const m = facts.maintainers(e.suite, e.package).map((x) => x.toLowerCase());
    if (f.maintainers.some((x) => m.includes(x.toLowerCase()))) return true;
  }
  return f.sets.length > 0 && facts.sets(e.package).some((s) => f.sets.includes(s));
}
