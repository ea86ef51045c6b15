/**
 * Delivering the outbox (db/notify.ts): for each configured destination, new events through its
 * filter, then batches of at most notify.max_events_per_message, leased, sent and marked, until
 * none is due, the destination fails (it waits for its backoff) or its hourly budget is spent.
 * At-least-once: a crash between a send and its mark sends that batch once more, after the lease.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config, NotifyFilter } from '../core/config.js';
import { setsOf } from '../core/config/sets.js';
import { causeChain } from '../core/errors.js';
import { maintainersOf } from '../db/maintainers.js';
import { claimBatch, expandEvents, markDelivered, markFailed, pruneNotify } from '../db/notify.js';
import type { FarmDb } from '../db/index.js';
import { message, testEvent, toEvent, wanted, type Message, type PackageFacts } from './events.js';
import { postWebhook, readSecret } from './deliver-webhook.js';
import { sendMail } from './deliver-mail.js';

export interface Destination {
  /** webhook:URL or mail */
  name: string;
  filter: NotifyFilter;
  /** throws when it cannot be used at all (a bad secret file): nothing is claimed for it */
  prepare(): (msg: Message, type: string) => Promise<void>;
}

export function destinations(config: Config): Destination[] {
  const n = config.notify;
  const out: Destination[] = n.webhooks.map((w) => ({
    name: `webhook:${w.url}`,
    filter: w,
    prepare: () => {
      const secret = readSecret(w);
      return (msg, type) => postWebhook(w, secret, msg, n.timeout, type);
    },
  }));
  if (n.mail.to.length > 0) out.push({ name: 'mail', filter: n.mail, prepare: () => (msg) => sendMail(n.mail, msg, n.timeout) });
  return out;
}

export interface DestinationResult {
  destination: string;
  /** events delivered, messages sent */
  delivered: number;
  messages: number;
  /** events of a failed message, and why */
  failed: number;
  error: string | null;
  rateLimited: boolean;
}

/**
 * What the farm knows of a package for the filters: its maintainers and uploaders (the Sources
 * index's, db/maintainers.ts) and the package_sets of the configuration it is in.
 */
export function farmFacts(db: FarmDb, sets: Config['packageSets']): PackageFacts {
  return { maintainers: (suite, pkg) => maintainersOf(db, suite, pkg).map((m) => m.email), sets: (pkg) => setsOf(sets, pkg) };
}

export interface DeliverOptions {
  facts?: PackageFacts;
  now?: () => Date;
  /** tests: called after a send succeeded, before it is marked (a crash there) */
  afterSend?: (destination: string) => void;
}

/** Exponential backoff: retry_base doubling with each failure, at most retry_max seconds. */
export function backoffS(config: Config, attempts: number): number {
  return Math.min(config.notify.retryMax, config.notify.retryBase * 2 ** Math.min(30, attempts - 1));
}

export async function deliverPending(config: Config, db: FarmDb, o: DeliverOptions = {}): Promise<DestinationResult[]> {
  const now = o.now ?? ((): Date => new Date());
  const dests = destinations(config);
  pruneNotify(
    db,
    dests.map((d) => d.name),
    new Date(now().getTime() - config.notify.keepDays * 86400_000).toISOString(),
    now(),
  );
  const results: DestinationResult[] = [];
  for (const d of dests) results.push(await deliverTo(config, db, d, o, now));
  return results;
}

async function deliverTo(config: Config, db: FarmDb, d: Destination, o: DeliverOptions, now: () => Date): Promise<DestinationResult> {
  const r: DestinationResult = { destination: d.name, delivered: 0, messages: 0, failed: 0, error: null, rateLimited: false };
  const facts = o.facts ?? farmFacts(db, config.packageSets);
  expandEvents(db, d.name, (e) => wanted(d.filter, e, facts));
  let send;
  try {
    send = d.prepare();
  } catch (err) {
    r.error = causeChain(err).join(': ');
    return r;
  }
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  const n = config.notify;
  for (;;) {
    const c = claimBatch(db, d.name, { owner, max: n.maxEventsPerMessage, maxPerHour: n.maxMessagesPerHour, leaseS: n.timeout + 5, now: now() });
    if (c.kind === 'none') break;
    if (c.kind === 'rate-limited') {
      r.rateLimited = true;
      break;
    }
    const ids = c.events.map((e) => e.id);
    try {
      await send(
        message(
          c.events.map((e) => toEvent(e, n.siteUrl)),
          now(),
        ),
        'status-changes',
      );
    } catch (err) {
      r.failed += ids.length;
      r.error = causeChain(err).join(': ');
      markFailed(db, d.name, owner, ids, r.error, now(), (a) => backoffS(config, a));
      break;
    }
    o.afterSend?.(d.name);
    markDelivered(db, d.name, owner, ids, now());
    r.delivered += ids.length;
    r.messages++;
  }
  return r;
}

/** `notify --test`: one test event to every destination, past the filters and the outbox. */
export async function sendTest(config: Config): Promise<DestinationResult[]> {
  const out: DestinationResult[] = [];
  for (const d of destinations(config)) {
    const r: DestinationResult = { destination: d.name, delivered: 0, messages: 0, failed: 0, error: null, rateLimited: false };
    try {
      await d.prepare()(message([testEvent(config.notify.siteUrl, new Date())], new Date()), 'test');
      r.delivered = 1;
      r.messages = 1;
    } catch (err) {
      r.failed = 1;
      r.error = causeChain(err).join(': ');
    }
    out.push(r);
  }
  return out;
}
