/**
 * Delivery as part of the normal runs (after `reprofarm site` renders, after a worker's build),
 * so no extra cron line is needed. It never throws: a receiver that is down, or a bad secret
 * file, is reported and its events wait in the outbox; the render or the build is not failed.
 */
import type { Config } from '../core/config.js';
import { causeChain } from '../core/errors.js';
import type { FarmDb } from '../db/index.js';
import { deliverPending, type DestinationResult } from './outbox.js';

export function notifyConfigured(config: Config): boolean {
  return config.notify.webhooks.length > 0 || config.notify.mail.to.length > 0;
}

/** Deliver what is pending; nothing when notify is not configured; a failure of the outbox itself (the DB) as the destination "outbox". */
export async function deliverAfterRun(config: Config, db: FarmDb): Promise<DestinationResult[]> {
  if (!notifyConfigured(config)) return [];
  try {
    return await deliverPending(config, db);
  } catch (err) {
    return [{ destination: 'outbox', delivered: 0, messages: 0, failed: 0, error: causeChain(err).join(': '), rateLimited: false }];
  }
}

/**
 * For the worker's loops: at most one delivery at a time and one per `minIntervalS`, so a
 * busy farm batches its events into few messages instead of one per build.
 */
export function throttledDelivery(config: Config, db: FarmDb, minIntervalS: number): () => Promise<DestinationResult[]> {
  let last = -Infinity;
  let running: Promise<DestinationResult[]> | undefined;
  return async () => {
    if (!notifyConfigured(config) || running || Date.now() - last < minIntervalS * 1000) return [];
    last = Date.now();
    running = deliverAfterRun(config, db);
    try {
      return await running;
    } finally {
      running = undefined;
    }
  };
}
