/**
 * `reprofarm cleanup`: find builds that an orchestrator started and never
 * finished (it was killed, the main node rebooted), clean what they left on
 * the nodes (the running build, pending entry, work order, partial results)
 * and on the main node, and give the claims back to the schedule. A claim is
 * stale when the process that holds it on this main node is gone, or when it
 * is older than both build timeouts together.
 */
import { readdir, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Config, NodeConfig } from '../core/config.js';
import { nodeWords } from '../core/errors.js';
import { openTransport } from '../core/connect.js';
import { processAlive } from '../core/process.js';
import { NODE_LAYOUT, packagePath, STATE_LAYOUT } from '../core/protocol.js';
import { SshFileCache } from '../core/ssh-transport.js';
import type { Claim } from '../db/archive.js';
import type { FarmDb } from '../db/index.js';
import { claimedSearches, releaseSearch } from '../db/culprits.js';
import { claimedEntries, requeue, type StaleClaim } from '../db/queue.js';
import { pairFor } from './pairs.js';
import { ordersInFlight } from './in-flight.js';
import { nodeBuildScript, nodeScriptArgv } from './node-script.js';

export interface CleanupResult {
  stale: Array<{ claim: StaleClaim; why: string; nodes: Array<{ node: string; ok: boolean; error: string | null }> }>;
  requeued: number;
  kept: number;
  /** work orders under builds/ that no claim holds any more (their build was given back or recorded without them): removed */
  orphanOrders: string[];
}

/** Which nodes a claim's job builds on. */
function jobNodes(config: Config, job: string): NodeConfig[] {
  const j = config.jobs.get(job);
  if (j) return j.nodes.map((n) => config.nodes.get(n)).filter((n): n is NodeConfig => n !== undefined);
  if (job === 'local') {
    const p = pairFor(config, []);
    return [p.node1, p.node2];
  }
  const parts = job.split('+');
  if (parts.length === 2) return parts.map((n) => config.nodes.get(n)).filter((n): n is NodeConfig => n !== undefined);
  return [...config.nodes.values()];
}

export function staleReason(config: Config, c: StaleClaim, now: number, me: string): string | null {
  const age = (now - Date.parse(c.claimed_at)) / 1000;
  if (c.claim_host === me && c.claim_pid !== null && !processAlive(c.claim_pid)) return `its orchestrator (pid ${c.claim_pid}) is gone`;
  const limit = config.build.timeout1 + config.build.timeout2 + 3600;
  if (age > limit) return `claimed ${Math.round(age / 3600)} h ago, longer than both build timeouts`;
  return null;
}

export async function cleanup(config: Config, db: FarmDb, opts: { onLine?: (s: string) => void } = {}): Promise<CleanupResult> {
  const me = hostname();
  const now = Date.now();
  const out: CleanupResult = { stale: [], requeued: 0, kept: 0, orphanOrders: [] };
  const files = new SshFileCache();
  for (const c of claimedEntries(db)) {
    const why = staleReason(config, c, now, me);
    if (!why) {
      out.kept++;
      continue;
    }
    const nodes = await cleanClaimOnNodes(config, c, files);
    out.stale.push({ claim: c, why, nodes });
    opts.onLine?.(
      `${c.package} ${c.version} ${c.suite}/${c.arch} (claimed by ${c.claimed_by} at ${c.claimed_at}): ${why}; ${nodes.map((n) => `${n.node} ${n.ok ? 'cleaned' : `not cleaned: ${n.error ?? ''}`}`).join(', ')}`,
    );
  }
  out.requeued = requeue(
    db,
    out.stale.map((s) => s.claim.id),
  );
  await staleSearchSteps(config, db, now, me, files, out, opts.onLine);
  // what the main node's work orders say is in flight, but no claim holds
  const held = new Set([...claimedEntries(db), ...claimedSearches(db)].map((c) => packagePath(c.suite, c.arch, c.package, c.version)));
  for (const o of await ordersInFlight(config.stateDir)) {
    if (held.has(packagePath(o.suite, o.arch, o.package, o.version))) continue;
    await unlink(o.file).catch(() => undefined);
    out.orphanOrders.push(relative(config.stateDir, o.file));
    opts.onLine?.(`removed work order ${relative(config.stateDir, o.file)}: no claim holds ${o.package} ${o.version} ${o.suite}/${o.arch} any more`);
  }
  return out;
}

/** A culprit search's step that no process runs any more: cleaned on its job's nodes, the step given back. */
async function staleSearchSteps(
  config: Config,
  db: FarmDb,
  now: number,
  me: string,
  files: SshFileCache,
  out: CleanupResult,
  onLine: ((s: string) => void) | undefined,
): Promise<void> {
  for (const c of claimedSearches(db)) {
    const why = staleReason(config, c, now, me);
    if (!why) {
      out.kept++;
      continue;
    }
    const nodes = await cleanClaimOnNodes(config, c, files);
    await rm(STATE_LAYOUT.culpritResults(config.stateDir, c), { recursive: true, force: true });
    releaseSearch(db, c, c.claimed_by);
    out.stale.push({ claim: c, why: `culprit search step: ${why}`, nodes });
    onLine?.(`${c.package} ${c.version} ${c.suite}/${c.arch} (a culprit search step of ${c.claimed_by} at ${c.claimed_at}): ${why}; given back`);
  }
}

/** The nodes a claim may have left work on: its job's, and every node with a work order of it under builds/. */
async function claimNodes(config: Config, c: Claim): Promise<NodeConfig[]> {
  const nodes = new Map(jobNodes(config, c.claimed_by).map((n) => [n.name, n]));
  const local = pairFor(config, []);
  for (const o of await ordersInFlight(config.stateDir, c.package)) {
    if (o.suite !== c.suite || o.arch !== c.arch || o.version !== c.version || nodes.has(o.node)) continue;
    const n = config.nodes.get(o.node) ?? [local.node1, local.node2].find((x) => x.name === o.node);
    if (n) nodes.set(n.name, n);
  }
  return [...nodes.values()];
}

/**
 * Clean what a claimed build left on its job's nodes (the running build, its
 * pending entry, work order and partial results, via node-build.sh cleanup)
 * and on the main node. Does not touch the claim itself.
 */
export async function cleanClaimOnNodes(
  config: Config,
  c: Claim,
  files: SshFileCache = new SshFileCache(),
): Promise<Array<{ node: string; ok: boolean; error: string | null }>> {
  const nodes: Array<{ node: string; ok: boolean; error: string | null }> = [];
  for (const node of await claimNodes(config, c)) {
    try {
      const t = await openTransport(node, { timeoutMs: config.collect.timeout * 1000, files });
      try {
        const script = NODE_LAYOUT.script(node.workdir);
        // the node's copy may be missing (never built there): then there is nothing of ours to clean but files
        const has = await t.exec(['sha256sum', script], { timeoutMs: 60_000 });
        const r =
          has.code === 0 && has.stdout.toString().startsWith(nodeBuildScript().sha256)
            ? await t.exec(nodeScriptArgv(node, 'cleanup', c), { timeoutMs: 120_000 })
            : await t.exec(
                [
                  'rm',
                  '-rf',
                  NODE_LAYOUT.order(node.workdir, node.name, c),
                  ...['', '.pid', '.prepared', '.resumed'].map((x) => `${NODE_LAYOUT.pending(node.workdir, c)}${x}`),
                  NODE_LAYOUT.results(node.workdir, node.name, c),
                ],
                { timeoutMs: 120_000 },
              );
        nodes.push({ node: node.name, ok: r.code === 0, error: r.code === 0 ? null : nodeWords(r.stderr.toString('utf8').trim().slice(0, 300)) });
      } finally {
        t.close();
      }
    } catch (err) {
      nodes.push({ node: node.name, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
    // the main node's side: the work order and any half-fetched results
    await unlink(STATE_LAYOUT.order(config.stateDir, node.name, c)).catch(() => undefined);
    const resultsParent = dirname(STATE_LAYOUT.results(config.stateDir, node.name, c));
    for (const f of await readdir(resultsParent).catch(() => [] as string[])) {
      if (f.startsWith(`${c.version}.tmp-`)) await rm(join(resultsParent, f), { recursive: true, force: true });
    }
  }
  return nodes;
}
