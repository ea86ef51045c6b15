/**
 * `reprofarm worker`: every configured job (node pair) as a build loop, all
 * in this one process. A loop skips its pair while a node is offline (config)
 * or unreachable (the last collection), backing off from 30 s, doubling, to
 * worker.backoff_max; it sleeps worker.idle_sleep when nothing is scheduled.
 *
 * Stopping (`stop()`, on SIGTERM): no loop claims again; running builds get
 * worker.grace seconds to finish; then they are aborted, their nodes are
 * cleaned (node-build.sh cleanup: processes, pending entries, partial results)
 * and their claims go back to the schedule. `stop({ now: true })` (a second
 * signal) skips the grace period.
 */
import type { Config, JobConfig, NodeConfig } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import type { FarmDb } from '../db/index.js';
import { throttledDelivery } from '../notify/after-run.js';
import type { DestinationResult } from '../notify/outbox.js';
import { cleanClaimOnNodes } from './cleanup.js';
import { searchNext, type StepResult } from './culprit-step.js';
import { buildNext, NodeConnections, type Pair, type PairOutcome } from './orchestrator.js';

export type WorkerEvent =
  | { type: 'start'; jobs: string[] }
  | { type: 'outcome'; job: string; outcome: PairOutcome }
  /** a culprit search's follow-up build, done when the pair had nothing scheduled */
  | { type: 'search'; job: string; result: StepResult }
  | { type: 'skip'; job: string; why: string; retryInS: number }
  | { type: 'error'; job: string; message: string; retryInS: number }
  | { type: 'stopping'; running: number; graceS: number }
  | { type: 'aborting'; running: number }
  | { type: 'stopped' }
  /** a delivery of pending notifications (notify/after-run.ts), one line per destination */
  | { type: 'notify'; result: DestinationResult };

export interface WorkerHandle {
  /** resolves when every loop has ended */
  done: Promise<void>;
  stop(opts?: { now?: boolean }): void;
}

export interface WorkerOptions {
  onEvent?: (e: WorkerEvent) => void;
  /** injected for tests: health of a node from the DB */
  health?: (node: string) => string | undefined;
}

const FIRST_BACKOFF_S = 30;
/** the least time between two notification deliveries of a worker */
const NOTIFY_EVERY_S = 60;

/** The pairs to run: the named jobs, or every configured job. */
export function workerPairs(config: Config, names: readonly string[]): Pair[] {
  const jobs: JobConfig[] =
    names.length > 0
      ? names.map((n) => {
          const j = config.jobs.get(n);
          if (!j) throw new UsageError(`unknown job "${n}"; configured jobs: ${[...config.jobs.keys()].join(', ') || '(none)'}`);
          return j;
        })
      : [...config.jobs.values()];
  return jobs.map((j) => ({ job: j.name, node1: config.nodes.get(j.nodes[0]) as NodeConfig, node2: config.nodes.get(j.nodes[1]) as NodeConfig }));
}

export function startWorker(config: Config, db: FarmDb, pairs: readonly Pair[], opts: WorkerOptions = {}): WorkerHandle {
  const emit = opts.onEvent ?? ((): void => undefined);
  const health = opts.health ?? ((node: string): string | undefined => db.node(node)?.health);
  let stopping = false;
  const running = new Set<AbortController>();
  const sleepers = new Set<() => void>();
  let graceTimer: NodeJS.Timeout | undefined;
  const deliver = throttledDelivery(config, db, NOTIFY_EVERY_S);
  const notify = async (): Promise<void> => {
    for (const result of await deliver()) if (result.messages > 0 || result.error) emit({ type: 'notify', result });
  };

  /** Sleep, cut short by stop(). */
  const sleep = (s: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, s * 1000);
      sleepers.add(wake);
    });

  const unusable = (pair: Pair): string | undefined => {
    for (const n of [pair.node1, pair.node2]) {
      if (n.offline) return `${n.name} is marked offline in the configuration`;
      if (n.transport !== 'local' && health(n.name) === 'unreachable') return `${n.name} was unreachable at the last collection`;
    }
    return undefined;
  };

  /** One search step on the pair; true when one was built (the loop goes on at once). */
  const searchStep = async (pair: Pair, connections: NodeConnections): Promise<boolean> => {
    const ac = new AbortController();
    running.add(ac);
    try {
      const result = await searchNext(config, db, pair, { signal: ac.signal, connections });
      if (result.kind === 'idle') return false;
      emit({ type: 'search', job: pair.job, result });
      return result.kind === 'step';
    } catch (err) {
      emit({ type: 'error', job: pair.job, message: err instanceof Error ? err.message : String(err), retryInS: 0 });
      return false;
    } finally {
      running.delete(ac);
    }
  };

  const loop = async (pair: Pair): Promise<void> => {
    let backoff = FIRST_BACKOFF_S;
    // the pair's SSH connections stay open from one build to the next; closed when the loop idles or ends
    const connections = new NodeConnections();
    const backOff = async (why: string, error: boolean): Promise<void> => {
      emit(error ? { type: 'error', job: pair.job, message: why, retryInS: backoff } : { type: 'skip', job: pair.job, why, retryInS: backoff });
      await sleep(backoff);
      backoff = Math.min(backoff * 2, config.worker.backoffMax);
    };
    try {
      while (!stopping) {
        const why = unusable(pair);
        if (why) {
          await backOff(why, false);
          continue;
        }
        const ac = new AbortController();
        running.add(ac);
        let out: PairOutcome;
        try {
          out = await buildNext(config, db, pair, { signal: ac.signal, onAbort: (claim) => cleanClaimOnNodes(config, claim), connections });
        } catch (err) {
          running.delete(ac);
          if (stopping) break;
          await backOff(err instanceof Error ? err.message : String(err), true);
          continue;
        }
        running.delete(ac);
        if (out.kind !== 'idle') emit({ type: 'outcome', job: pair.job, outcome: out });
        // the build's status change (and any retry due) out to the notify destinations
        await notify();
        if (stopping) break;
        // nothing scheduled: a culprit search's next step, below every regular build
        if (out.kind === 'idle' && (await searchStep(pair, connections))) continue;
        if (out.kind === 'idle') {
          backoff = FIRST_BACKOFF_S;
          await connections.close();
          await sleep(config.worker.idleSleep);
        } else if (out.kind === 'requeued') {
          await backOff(out.reason, true);
        } else {
          backoff = FIRST_BACKOFF_S;
        }
      }
    } finally {
      await connections.close();
    }
  };

  emit({ type: 'start', jobs: pairs.map((p) => p.job) });
  const done = Promise.all(pairs.map((p) => loop(p))).then(() => {
    if (graceTimer) clearTimeout(graceTimer);
    emit({ type: 'stopped' });
  });

  const abortAll = (): void => {
    if (running.size > 0) emit({ type: 'aborting', running: running.size });
    for (const ac of running) ac.abort();
  };

  return {
    done,
    stop(o = {}) {
      if (!stopping) {
        stopping = true;
        for (const wake of [...sleepers]) wake();
        emit({ type: 'stopping', running: running.size, graceS: o.now ? 0 : config.worker.grace });
        if (o.now || config.worker.grace === 0) abortAll();
        else graceTimer = setTimeout(abortAll, config.worker.grace * 1000);
      } else if (o.now) {
        if (graceTimer) clearTimeout(graceTimer);
        abortAll();
      }
    },
  };
}
