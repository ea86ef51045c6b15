/**
 * `reprofarm collect`: fan the info script out to nodes, one connection per
 * node, at most `concurrency` at once, each under a hard deadline. A node's
 * failure is data: every node gets a result, and one failure never cancels the
 * others. Good results are written to node-information files atomically; a
 * failed or malformed result never replaces a previous good file.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Config, NodeConfig } from '../core/config.js';
import { writeFileAtomic } from '../core/atomic.js';
import { openTransport } from '../core/connect.js';
import { excerpt, UnknownNodeError } from '../core/errors.js';
import { SshFileCache } from '../core/ssh-transport.js';
import { nodeInformationFile, projectRoot } from '../core/paths.js';
import { TransportError, type ExecResult, type Transport } from '../core/transport.js';
import { recordCollectionsWithChroots, type ChrootFact } from '../db/chroots.js';
import type { CollectionRecord, FarmDb } from '../db/index.js';
import { clockOffset, formatNodeInformation, MAX_OUTPUT_BYTES, parseChrootsFact, parseFacts, splitChrootName } from './facts.js';
import { judgeHealth, type ChrootNeeds, type HealthVerdict } from './health.js';

export interface NodeCollection {
  node: string;
  /** facts were collected and written */
  ok: boolean;
  health: 'ok' | 'degraded' | 'unreachable';
  /** why the node is not ok (health reasons, or what failed) */
  reason: string | null;
  advice: string | null;
  errorKind: string | null;
  startedAt: string;
  durationMs: number;
  clockOffsetS: number | null;
  facts: Array<[string, string]> | null;
  /** the tarballs its CHROOTS fact lists; null when no facts were collected */
  chroots: ChrootFact[] | null;
  file: string | null;
}

export type CollectEvent =
  | { type: 'collect-start'; nodes: readonly string[]; concurrency: number; timeoutS: number }
  | { type: 'node-done'; result: NodeCollection; done: number; total: number }
  | { type: 'pruned'; collections: number; olderThanDays: number };

export interface CollectOptions {
  concurrency: number;
  timeoutS: number;
  onEvent?: (e: CollectEvent) => void;
  signal?: AbortSignal;
}

export interface CollectSummary {
  results: NodeCollection[];
  collected: number;
  failed: number;
  degraded: number;
  durationMs: number;
}

let infoScript: Buffer | undefined;
export function infoScriptText(): Buffer {
  infoScript ??= readFileSync(join(projectRoot(), 'collector', 'info.sh'));
  return infoScript;
}

/** One node's collection under way: its deadline, and how its outcomes are made. */
class NodeRun {
  readonly started = new Date();
  readonly t0 = performance.now();
  readonly timeoutMs: number;
  readonly deadline = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onOuterAbort = (): void => this.deadline.abort();

  constructor(
    readonly node: NodeConfig,
    readonly opts: CollectOptions,
  ) {
    this.timeoutMs = opts.timeoutS * 1000;
    this.timer = setTimeout(() => this.deadline.abort(), this.timeoutMs);
    opts.signal?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  end(): void {
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onOuterAbort);
  }

  get base(): Omit<NodeCollection, 'ok' | 'health' | 'reason' | 'durationMs'> {
    return {
      node: this.node.name,
      startedAt: this.started.toISOString(),
      clockOffsetS: null,
      facts: null,
      chroots: null,
      file: null,
      advice: null,
      errorKind: null,
    };
  }

  fail(health: 'degraded' | 'unreachable', reason: string, errorKind: string, advice: string | null = null): NodeCollection {
    return { ...this.base, ok: false, health, reason, errorKind, advice, durationMs: performance.now() - this.t0 };
  }

  /** not a fact about the node: the caller leaves it out of the DB */
  interrupted(): NodeCollection {
    return this.fail('unreachable', 'the collection was interrupted before this node finished', 'aborted');
  }

  /** what a transport's exception says about the node */
  caught(err: unknown): NodeCollection {
    // an interrupted run: whatever the transport made of it (aborted, or the channel closed under the command)
    if (this.opts.signal?.aborted) return this.interrupted();
    if (err instanceof TransportError) {
      const timedOut = err.kind === 'aborted' && this.deadline.signal.aborted;
      if (timedOut) return this.fail('unreachable', `no answer within ${this.opts.timeoutS} s`, 'timeout', 'the node or the network may be hung');
      return this.fail('unreachable', err.message, err.kind, err.advice ?? null);
    }
    return this.fail('unreachable', err instanceof Error ? err.message : String(err), 'other');
  }
}

/** Step 1 and 2: connect and run the info script, within what is left of the deadline. */
async function runInfoScript(run: NodeRun, files: SshFileCache): Promise<{ r: ExecResult; mainMidpoint: number }> {
  const { node } = run;
  let transport: Transport | undefined;
  try {
    if (node.transport === 'local') await mkdir(node.workdir, { recursive: true });
    transport = await openTransport(node, { timeoutMs: run.timeoutMs, signal: run.deadline.signal, files });
    const remaining = Math.max(1, run.timeoutMs - (performance.now() - run.t0));
    const sentAt = Date.now();
    const r = await transport.exec(['sh', '-s', '--', node.workdir], {
      stdin: infoScriptText(),
      timeoutMs: remaining,
      maxOutputBytes: MAX_OUTPUT_BYTES + 1,
      signal: run.deadline.signal,
    });
    return { r, mainMidpoint: (sentAt + Date.now()) / 2 };
  } finally {
    transport?.close();
  }
}

interface Judged {
  facts: Array<[string, string]>;
  offset: number | null;
  verdict: HealthVerdict;
  chroots: ChrootFact[];
}

/** The chroots a node needs: with the chroot backend, one per configured suite for its architecture (when the farm builds that). */
function chrootNeeds(config: Config, node: NodeConfig, facts: ReadonlyMap<string, string>): ChrootNeeds | undefined {
  if (config.build.backend !== 'chroot') return undefined;
  const fact = facts.get('ARCH');
  const arch = node.arch ?? (fact === 'unset' ? undefined : fact);
  if (arch === undefined || !config.architectures.includes(arch)) return undefined;
  return { suites: config.suites, arch };
}

/** Step 3: what the script's run and output say: a failure, or the facts with the node's health. */
function judgeOutput(run: NodeRun, config: Config, out: { r: ExecResult; mainMidpoint: number }): NodeCollection | Judged {
  const { r } = out;
  const { opts } = run;
  if (opts.signal?.aborted) return run.interrupted();
  if (r.timedOut || (run.deadline.signal.aborted && r.code === null)) {
    return run.fail('unreachable', `info script did not finish within ${opts.timeoutS} s`, 'timeout', 'the node may be overloaded or hung; check it by hand');
  }
  if (r.truncated) {
    // each stream is kept up to the cap: the one that reached it is the one that overflowed
    const stream = r.stdout.length > MAX_OUTPUT_BYTES ? 'standard output' : 'standard error';
    return run.fail('degraded', `info script printed more than ${MAX_OUTPUT_BYTES} bytes on ${stream}; output rejected`, 'bad-output');
  }
  if (r.code !== 0) {
    const err = r.stderr.toString('utf8').trim().split('\n').slice(-1)[0] ?? '';
    return run.fail(
      'degraded',
      `info script exited with ${r.code === null ? `signal ${r.signal ?? '?'}` : `code ${r.code}`}${err ? `: ${excerpt(err, 200)}` : ''}`,
      'script-failed',
    );
  }
  const parsed = parseFacts(r.stdout);
  if (!parsed.ok) {
    return run.fail(
      'degraded',
      `info script output rejected: ${parsed.problems.join('; ')}`,
      'bad-output',
      'the node-information file was left as it was; check what the node prints for: sh -s < collector/info.sh',
    );
  }
  const factMap = new Map(parsed.facts);
  const listed = parseChrootsFact(factMap.get('CHROOTS'));
  const arches = [...new Set([...config.architectures, ...(run.node.arch ? [run.node.arch] : [])])];
  const chroots = (listed.ok ? listed.entries : []).map((e) => ({
    ...splitChrootName(e.name, arches),
    created: new Date(e.created * 1000),
    size: e.size,
    sha256: e.sha256,
  }));
  return {
    facts: parsed.facts,
    offset: clockOffset(factMap, out.mainMidpoint),
    verdict: judgeHealth(run.node.name, factMap, config.health, chrootNeeds(config, run.node, factMap)),
    chroots,
  };
}

/** Step 4: the node-information file, written once the DB is open (its facts are recorded by the caller). */
async function writeNodeFile(run: NodeRun, config: Config, j: Judged, dbReady: Promise<unknown>): Promise<NodeCollection> {
  const base = run.base;
  const file = nodeInformationFile(config.stateDir, run.node.name);
  // a node-information file is written only when its facts can be recorded too
  await dbReady;
  await writeFileAtomic(
    file,
    formatNodeInformation(j.facts, [
      ['NODE', run.node.name],
      ['COLLECTED_AT', base.startedAt],
      ['CLOCK_OFFSET_S', j.offset === null ? 'unset' : String(j.offset)],
      ['HEALTH', j.verdict.health],
    ]),
  );
  return {
    ...base,
    ok: true,
    health: j.verdict.health,
    reason: j.verdict.reasons.length > 0 ? j.verdict.reasons.join('; ') : null,
    clockOffsetS: j.offset,
    facts: j.facts,
    chroots: j.chroots,
    file,
    durationMs: performance.now() - run.t0,
  };
}

async function collectOne(node: NodeConfig, config: Config, opts: CollectOptions, files: SshFileCache, dbReady: Promise<unknown>): Promise<NodeCollection> {
  const run = new NodeRun(node, opts);
  try {
    const judged = judgeOutput(run, config, await runInfoScript(run, files));
    return 'verdict' in judged ? await writeNodeFile(run, config, judged, dbReady) : judged;
  } catch (err) {
    return run.caught(err);
  } finally {
    run.end();
  }
}

function archFact(facts: ReadonlyArray<readonly [string, string]> | null): string | null {
  const v = facts?.find(([k]) => k === 'ARCH')?.[1];
  return v === undefined || v === 'unset' ? null : v;
}

/**
 * Collect from `nodes` (all configured ones when empty), record in the DB,
 * prune old facts. `db` may still be opening (a promise): the connections
 * start at once, node-information files wait for it, and when it cannot be
 * opened the connections in flight are stopped and its error is thrown.
 */
export async function collect(config: Config, db: FarmDb | Promise<FarmDb>, names: readonly string[], opts: CollectOptions): Promise<CollectSummary> {
  const t0 = performance.now();
  const nodes = (names.length > 0 ? [...new Set(names)] : [...config.nodes.keys()]).map((n) => {
    const node = config.nodes.get(n);
    if (!node) throw new UnknownNodeError(n, [...config.nodes.keys()]);
    return node;
  });
  opts.onEvent?.({ type: 'collect-start', nodes: nodes.map((n) => n.name), concurrency: opts.concurrency, timeoutS: opts.timeoutS });
  const limit = pLimit(opts.concurrency);
  const files = new SshFileCache();
  const dbReady = Promise.resolve(db);
  const stop = new AbortController();
  // every node in flight listens for it
  setMaxListeners(0, stop.signal);
  const onOuterAbort = (): void => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // no DB: stop every node in flight; the ones still queued fail at once (the error is thrown below)
  let dbFailed = false;
  dbReady.catch(() => {
    dbFailed = true;
    stop.abort();
  });
  const inner: CollectOptions = { ...opts, signal: stop.signal };
  let done = 0;
  const results = await Promise.all(
    nodes.map((node) =>
      limit(async () => {
        const result = await collectOne(node, config, inner, files, dbReady);
        done += 1;
        if (!dbFailed) opts.onEvent?.({ type: 'node-done', result, done, total: nodes.length });
        return result;
      }),
    ),
  );
  opts.signal?.removeEventListener('abort', onOuterAbort);
  const farmDb = await dbReady;
  // a run interrupted by the operator says nothing about the nodes it did not finish
  const records: CollectionRecord[] = results
    .filter((r) => r.errorKind !== 'aborted')
    .map((r) => ({
      node: r.node,
      startedAt: r.startedAt,
      durationMs: r.durationMs,
      ok: r.ok,
      health: r.health,
      reason: r.reason,
      errorKind: r.errorKind,
      clockOffsetS: r.clockOffsetS,
      facts: r.facts,
      arch: config.nodes.get(r.node)?.arch ?? archFact(r.facts),
    }));
  // a node whose facts were collected has what its CHROOTS fact lists, and no other tarball
  const chroots = new Map(results.flatMap((r) => (r.chroots && r.errorKind !== 'aborted' ? [[r.node, r.chroots] as const] : [])));
  recordCollectionsWithChroots(farmDb, records, chroots);
  const cutoff = new Date(Date.now() - config.collect.retentionDays * 86400_000).toISOString();
  const pruned = farmDb.pruneCollections(cutoff);
  if (pruned > 0) opts.onEvent?.({ type: 'pruned', collections: pruned, olderThanDays: config.collect.retentionDays });
  return {
    results,
    collected: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    degraded: results.filter((r) => r.ok && r.health === 'degraded').length,
    durationMs: performance.now() - t0,
  };
}
