/**
 * One claim's way to its end: recorded (in one transaction), or given back to
 * the schedule. Whatever fails on the way, the claim is not left held.
 */
import type { Config } from '../core/config.js';
import { attestRecord } from '../attest/record.js';
import { asDiskFull } from '../core/disk.js';
import { ReprofarmError } from '../core/errors.js';
import type { Status } from '../core/statuses.js';
import { TransportError } from '../core/transport.js';
import type { Claim } from '../db/archive.js';
import { recordBuild, type BuildRunRecord, type PairRecord } from '../db/builds.js';
import type { SearchStart } from '../db/culprits.js';
import { noteFailedAttempt, requeue, requeueBehind } from '../db/queue.js';
import type { FarmDb } from '../db/index.js';
import type { BuildOptions, Pair, PairOutcome } from './build-types.js';
import { NodeFault, NodeUnusable, ResultsRefused } from './node-link.js';
import { dropUnrecorded, keepUnrecorded, takeUnrecorded } from './unrecorded.js';

/**
 * A DB write tried again while the DB stays busy past its busy timeout (a long
 * backup, another writer stuck): giving a claim back must not fail for that.
 */
async function whileBusy<T>(op: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return op();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 4 || typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

/**
 * One claim's way to its end: recorded, or given back. Whatever fails on the
 * way, the claim is not left held (see `failed`).
 */
export class ClaimRun {
  recorded = false;
  /** the single builds done so far, for a record */
  readonly runs: BuildRunRecord[] = [];
  /** result directories fetched so far, with their files' SHA256: a record that cannot be written is kept with them */
  readonly dirs: Array<{ dir: string; fetched: ReadonlyMap<string, string> }> = [];
  constructor(
    readonly config: Config,
    readonly db: FarmDb,
    readonly pair: Pair,
    readonly claim: Claim,
    readonly opts: BuildOptions,
    private readonly t0: number,
  ) {}

  async giveBack(reason: string): Promise<PairOutcome> {
    const { claim, opts, db } = this;
    // stopped from outside (SIGTERM past the grace period): clean the nodes before the claim goes back
    if (opts.signal?.aborted) {
      if (opts.onAbort) await opts.onAbort(claim).catch(() => undefined);
      // interrupted, not failed: it keeps its place
      await whileBusy(() => requeue(db, [claim.id]));
    } else {
      await whileBusy(() => requeueBehind(db, claim.id));
    }
    opts.onEvent?.({ type: 'requeued', claim, reason });
    return { kind: 'requeued', claim, reason };
  }

  async record(
    status: Status,
    reason: string | null,
    report: string | null = null,
    more: { gaveUp?: boolean; unmet?: string | null; culprit?: SearchStart } = {},
  ): Promise<PairOutcome> {
    const { gaveUp = false, unmet = null, culprit } = more;
    const { claim, pair, opts } = this;
    const durationS = (performance.now() - this.t0) / 1000;
    const rec: PairRecord = {
      status,
      job: pair.job,
      node1: pair.node1.name,
      node2: pair.node2.name,
      durationS,
      reason,
      report,
      runs: this.runs,
      ...(gaveUp ? { gaveUp } : {}),
      ...(unmet ? { unmet } : {}),
      ...(culprit ? { culprit } : {}),
    };
    let buildId: number;
    try {
      // signed before the transaction, stored by it: the result and its attestation are committed together
      const now = new Date();
      buildId = recordBuild(this.db, claim, rec, now, await attestRecord(this.config, claim, rec, now));
    } catch (err) {
      // the builds are done: kept, the next claim of this version records them instead of building again
      if (this.dirs.length > 0) await keepUnrecorded(this.config.stateDir, claim, rec, this.dirs);
      throw err;
    }
    this.recorded = true;
    opts.onEvent?.({ type: 'recorded', claim, status, reason, durationS });
    return { kind: 'recorded', claim, status, reason, buildId, report };
  }

  /** A pair built before whose record could not be written: recorded now, when its results are unchanged. */
  async recordKept(): Promise<PairOutcome | undefined> {
    const kept = await takeUnrecorded(this.config.stateDir, this.claim);
    if (!kept) return undefined;
    this.opts.onEvent?.({ type: 'retry', what: 'recording the builds done before (their record could not be written then)' });
    const now = new Date();
    const buildId = recordBuild(this.db, this.claim, kept, now, await attestRecord(this.config, this.claim, kept, now));
    this.recorded = true;
    await dropUnrecorded(this.config.stateDir, this.claim);
    this.opts.onEvent?.({ type: 'recorded', claim: this.claim, status: kept.status, reason: kept.reason, durationS: kept.durationS });
    return { kind: 'recorded', claim: this.claim, status: kept.status, reason: kept.reason, buildId, report: kept.report };
  }

  /**
   * Results refused (the package's doing): counted, and after build.max_attempts
   * failures of one kind recorded with their real reason instead of retried.
   */
  private async refused(err: ResultsRefused): Promise<PairOutcome> {
    const max = this.config.build.maxAttempts;
    const failures = noteFailedAttempt(this.db, this.claim, err.kind, err.message);
    if (failures >= max) {
      return this.record(err.status, `${err.message} (${failures} times: not retried until a new version or reprofarm schedule)`, null, { gaveUp: true });
    }
    return this.giveBack(`${err.message} (attempt ${failures} of ${max})`);
  }

  /**
   * Whatever went wrong, the claim goes back (or the result is recorded): a
   * node's failure or refused results are outcomes; anything else (the DB busy,
   * the disk full, a bug) gives the claim back and is thrown, said plainly.
   */
  async failed(err: unknown): Promise<PairOutcome> {
    if (this.recorded) throw err;
    const full = asDiskFull(err, this.config.stateDir);
    if (!full && err instanceof ResultsRefused && !this.opts.signal?.aborted) return this.refused(err);
    if (!full && err instanceof NodeFault) {
      await whileBusy(() => this.db.markDegraded(err.node, err.message));
      return this.giveBack(err.message);
    }
    if (!full && (err instanceof NodeUnusable || err instanceof TransportError)) return this.giveBack(err.message);
    const shown = full ?? err;
    try {
      await this.giveBack(shown instanceof Error ? shown.message : String(shown));
    } catch (again) {
      throw new ReprofarmError(`${this.claim.package} ${this.claim.version} could not be given back to the schedule`, {
        cause: shown,
        advice: `${again instanceof Error ? again.message : String(again)}; reprofarm cleanup gives stale claims back`,
      });
    }
    throw shown;
  }
}
