/**
 * `reprofarm notify [--test]`: deliver the pending notifications now (or a test event to every
 * destination); one line per destination. Exit 0 when every destination is done or only waits
 * for its hourly budget, 2 when some failed and others did not, 1 when all failed.
 */
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { openDb } from '../db/index.js';
import { pendingDeliveries } from '../db/notify.js';
import { deliverPending, sendTest, type DestinationResult } from '../notify/outbox.js';
import type { ParsedArgs } from './args.js';
import { termSafe, type Reporter } from './output.js';

export function notifyLine(r: DestinationResult): string {
  const what = `${r.destination}: ${r.delivered} delivered in ${r.messages} message${r.messages === 1 ? '' : 's'}`;
  if (r.error) return termSafe(`${what}, ${r.failed} failed: ${r.error}`);
  return termSafe(`${what}${r.rateLimited ? ', the rest waits (notify.max_messages_per_hour)' : ''}`);
}

export function notifyExit(results: readonly DestinationResult[]): number {
  const failed = results.filter((r) => r.error !== null).length;
  return failed === 0 ? 0 : failed === results.length ? 1 : 2;
}

export async function runNotify(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`notify takes no arguments, got "${args.positionals.join(' ')}"`);
  if (config.notify.webhooks.length === 0 && config.notify.mail.to.length === 0) {
    throw new UsageError('no notification destinations configured', { advice: 'add notify.webhooks or notify.mail.to to the configuration' });
  }
  const db = openDb(dbFile(config.stateDir));
  try {
    const results = args.values.test ? await sendTest(config) : await deliverPending(config, db);
    for (const r of results) rep.line(notifyLine(r), r.error !== null);
    const pending = pendingDeliveries(db);
    if (args.values.json) {
      rep.json({
        test: args.values.test === true,
        destinations: results.map((r) => ({
          destination: r.destination,
          delivered: r.delivered,
          messages: r.messages,
          failed: r.failed,
          error: r.error,
          rate_limited: r.rateLimited,
          pending: pending.find((p) => p.destination === r.destination)?.pending ?? 0,
        })),
      });
    }
    return notifyExit(results);
  } finally {
    db.close();
  }
}
