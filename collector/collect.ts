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
import { TransportError, type Transport } from '../core/transport.js';
import type { CollectionRecord, FarmDb } from '../db/index.js';
import { clockOffset, formatNodeInformation, MAX_OUTPUT_BYTES, parseFacts } from './facts.js';
import { judgeHealth } from './health.js';

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

async function collectOne(node: NodeConfig, config: Config, opts: CollectOptions, files: SshFileCache, dbReady: Promise<unknown>): Promise<NodeCollection> {
  const started = new Date();
  const t0 = performance.now();
  const timeoutMs = opts.timeoutS * 1000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const onOuterAbort = (): void => deadline.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const base = {
    node: node.name,
    startedAt: started.toISOString(),
    clockOffsetS: null,
    facts: null,
    file: null,
    advice: null,
    errorKind: null,
  };
  const fail = (health: 'degraded' | 'unreachable', reason: string, errorKind: string, advice: string | null = null): NodeCollection => ({
    ...base,
    ok: false,
    health,
    reason,
    errorKind,
    advice,
    durationMs: performance.now() - t0,
  });
  // not a fact about the node: the caller leaves it out of the DB
  const interrupted = (): NodeCollection => fail('unreachable', 'the collection was interrupted before this node finished', 'aborted');
  let transport: Transport | undefined;
  try {
    if (node.transport === 'local') await mkdir(node.workdir, { recursive: true });
    transport = await openTransport(node, { timeoutMs, signal: deadline.signal, files });
    const remaining = Math.max(1, timeoutMs - (performance.now() - t0));
    const sentAt = Date.now();
    const r = await transport.exec(['sh', '-s', '--', node.workdir], {
      stdin: infoScriptText(),
      timeoutMs: remaining,
      maxOutputBytes: MAX_OUTPUT_BYTES + 1,
      signal: deadline.signal,
    });
    const mainMidpoint = (sentAt + Date.now()) / 2;
    if (opts.signal?.aborted) return interrupted();
    if (r.timedOut || (deadline.signal.aborted && r.code === null)) {
      return fail('unreachable', `info script did not finish within ${opts.timeoutS} s`, 'timeout', 'the node may be overloaded or hung; check it by hand');
    }
    if (r.truncated) {
      // each stream is kept up to the cap: the one that reached it is the one that overflowed
      const stream = r.stdout.length > MAX_OUTPUT_BYTES ? 'standard output' : 'standard error';
      return fail('degraded', `info script printed more than ${MAX_OUTPUT_BYTES} bytes on ${stream}; output rejected`, 'bad-output');
    }
    if (r.code !== 0) {
      const err = r.stderr.toString('utf8').trim().split('\n').slice(-1)[0] ?? '';
      return fail(
        'degraded',
        `info script exited with ${r.code === null ? `signal ${r.signal ?? '?'}` : `code ${r.code}`}${err ? `: ${excerpt(err, 200)}` : ''}`,
        'script-failed',
      );
    }
    const parsed = parseFacts(r.stdout);
    if (!parsed.ok) {
      return fail(
        'degraded',
        `info script output rejected: ${parsed.problems.join('; ')}`,
        'bad-output',
        'the node-information file was left as it was; check what the node prints for: sh -s < collector/info.sh',
      );
    }
    const factMap = new Map(parsed.facts);
    const offset = clockOffset(factMap, mainMidpoint);
    const verdict = judgeHealth(node.name, factMap, config.health);
    const reason = verdict.reasons.length > 0 ? verdict.reasons.join('; ') : null;
    const file = nodeInformationFile(config.stateDir, node.name);
    // a node-information file is written only when its facts can be recorded too
    await dbReady;
    await writeFileAtomic(
      file,
      formatNodeInformation(parsed.facts, [
        ['NODE', node.name],
        ['COLLECTED_AT', base.startedAt],
        ['CLOCK_OFFSET_S', offset === null ? 'unset' : String(offset)],
        ['HEALTH', verdict.health],
      ]),
    );
    return {
      ...base,
      ok: true,
      health: verdict.health,
      reason,
      clockOffsetS: offset,
      facts: parsed.facts,
      file,
      durationMs: performance.now() - t0,
    };
  } catch (err) {
    // an interrupted run: whatever the transport made of it (aborted, or the channel closed under the command)
    if (opts.signal?.aborted) return interrupted();
    if (err instanceof TransportError) {
      const timedOut = err.kind === 'aborted' && deadline.signal.aborted;
      if (timedOut) return fail('unreachable', `no answer within ${opts.timeoutS} s`, 'timeout', 'the node or the network may be hung');
      return fail('unreachable', err.message, err.kind, err.advice ?? null);
    }
    return fail('unreachable', err instanceof Error ? err.message : String(err), 'other');
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    transport?.close();
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
  farmDb.recordCollections(records);
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
