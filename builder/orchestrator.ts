/**
 * One build pair, as the 2015 design describes it, on the main node: claim the
 * next scheduled package for the pair's architecture (the claim carries all a
 * build needs), fetch only its .dsc and pin its SHA256 in the work orders,
 * build 1 on node 1, build 2 on node 2 (whose sources are downloaded and
 * unpacked while build 1 runs), compare, record in one transaction. Each step
 * is a function below; a node that cannot be reached, or results that cannot
 * be trusted, give the claim back: no schedule entry is lost.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { hostDebianArch, type Config, type NodeConfig } from '../core/config.js';
import { excerpt, ReprofarmError } from '../core/errors.js';
import { failureStatus, STATE_LAYOUT } from '../core/protocol.js';
import { SshFileCache } from '../core/ssh-transport.js';
import type { Claim } from '../db/archive.js';
import { claimNext } from '../db/queue.js';
import { chrootSuites } from './chroot-suites.js';
import type { FarmDb } from '../db/index.js';
import type { BuildOptions, DscRef, Pair, PairOutcome } from './build-types.js';
import { ClaimRun } from './claim-run.js';
import { compareArtifacts, describeDifference, runDiffoscope, type ArtifactComparison, type ResultDir } from './compare.js';
import { NodeLink } from './node-link.js';
import { discardPrepared, failureReason, prepareBuild, runBuild, trustedResults, type BuildSpec, type Prepared, type RunOutcome } from './single-build.js';
import { culpritStart } from '../culprit/start.js';
import { checkedDsc } from './dsc.js';

export type { BuildEvent, BuildOptions, Pair, PairOutcome } from './build-types.js';
export { NodeConnections } from './node-link.js';

/** The architecture a node builds: configured, else its collected ARCH fact, else (local) this machine's. */
export function nodeArch(db: FarmDb, node: NodeConfig): string | undefined {
  if (node.arch) return node.arch;
  const fact = db.latestFacts(node.name).get('ARCH');
  if (fact && fact !== 'unset') return fact;
  return node.transport === 'local' ? hostDebianArch() : undefined;
}

/** Claim and build the next package for a pair: claim, fetch the .dsc, connect, prepare, build 1, build 2, compare, record. */
export async function buildNext(config: Config, db: FarmDb, pair: Pair, opts: BuildOptions = {}): Promise<PairOutcome> {
  const arch = pairArch(db, pair);
  if (typeof arch !== 'string') return arch;
  const t0 = performance.now();
  // with the chroot backend, only suites both nodes have a chroot of
  const suites = chrootSuites(db, config, pair.node1.name, pair.node2.name, arch);
  const claim = claimNext(db, arch, pair.job, new Date(), { host: hostname(), pid: process.pid }, suites);
  if (!claim) {
    const why =
      suites?.length === 0
        ? `no suite has a chroot on both ${pair.node1.name} and ${pair.node2.name} (reprofarm chroot update)`
        : `nothing scheduled for ${arch}`;
    return { kind: 'idle', reason: why };
  }
  const run = new ClaimRun(config, db, pair, claim, opts, t0);
  const links = openLinks(run);
  try {
    opts.onEvent?.({ type: 'claimed', claim, pair });
    const kept = await run.recordKept();
    if (kept) return kept;
    const dsc = await fetchDsc(run);
    if ('kind' in dsc) return dsc;
    const unreachable = await links.ready();
    if (unreachable) return await run.giveBack(unreachable);
    const [s1, s2] = [spec(run, 1, dsc), spec(run, 2, dsc)];
    let prep2: Prepared | undefined;
    try {
      // node 2 downloads, checks and unpacks while build 1 runs (not when both share one workdir)
      if (!sharesWorkdir(pair.node1, pair.node2)) prep2 = await prepareBuild(s2, links.l2);
      const b1 = await build(run, s1, links.l1);
      if (b1.result !== 'built') {
        discardPrepared(config, links.l2, claim, prep2);
        return await run.record(failureStatus(b1.result), failureReason(b1, pair.node1.name), null, { unmet: b1.unmet });
      }
      const b2 = await build(run, s2, links.l2, prep2);
      if (b2.result !== 'built') return await run.record(failureStatus(b2.result), failureReason(b2, pair.node2.name), null, { unmet: b2.unmet });
      return await compareAndRecord(run, s1, links.l1, b1, b2);
    } catch (err) {
      // cleaned before the claim goes back: another worker may take it at once
      discardPrepared(config, links.l2, claim, prep2);
      await links.l2.settle();
      throw err;
    }
  } catch (err) {
    return await run.failed(err);
  } finally {
    await links.release(run.recorded);
  }
}

/** The pair's one architecture, or why it cannot build now. */
function pairArch(db: FarmDb, pair: Pair): string | { kind: 'idle'; reason: string } {
  for (const node of [pair.node1, pair.node2]) {
    if (node.offline) return { kind: 'idle', reason: `node ${node.name} is marked offline` };
  }
  const arch1 = nodeArch(db, pair.node1);
  const arch2 = nodeArch(db, pair.node2);
  if (!arch1 || !arch2) {
    throw new ReprofarmError(`the architecture of ${!arch1 ? pair.node1.name : pair.node2.name} is not known`, {
      advice: 'set nodes.<NAME>.arch, or run reprofarm collect first',
    });
  }
  if (arch1 !== arch2) throw new ReprofarmError(`${pair.node1.name} builds ${arch1} but ${pair.node2.name} builds ${arch2}: a pair needs one architecture`);
  return arch1;
}

interface PairLinks {
  l1: NodeLink;
  l2: NodeLink;
  /** why a node cannot be reached, once both connections are made or failed; undefined when both are up */
  ready(): Promise<string | undefined>;
  /** settle what runs in the background; close the links unless they are shared and the build was recorded */
  release(recorded: boolean): Promise<void>;
}

/** Connect to both nodes now, while the .dsc is fetched. */
function openLinks(run: ClaimRun): PairLinks {
  const { config, pair, opts } = run;
  const timeoutMs = (opts.connectTimeoutS ?? config.collect.timeout) * 1000;
  const shared = opts.connections;
  const files = new SshFileCache();
  const l1 = shared ? shared.link(pair.node1, timeoutMs, opts.signal) : new NodeLink(pair.node1, timeoutMs, files, opts.signal);
  const l2 = shared ? shared.link(pair.node2, timeoutMs, opts.signal) : new NodeLink(pair.node2, timeoutMs, files, opts.signal);
  // both are waited for, so that no connection is left opening
  const connecting = Promise.allSettled([l1.get(), l2.get()]);
  return {
    l1,
    l2,
    async ready() {
      const failed = (await connecting).find((c): c is PromiseRejectedResult => c.status === 'rejected');
      const err: unknown = failed?.reason;
      return failed ? `node unreachable: ${err instanceof Error ? err.message : String(err)}` : undefined;
    },
    async release(recorded) {
      await connecting;
      await Promise.all([l1.settle(), l2.settle()]);
      if (!shared) {
        l1.close();
        l2.close();
      } else if (!recorded) {
        // given back, stopped or failed: the next build on this pair connects anew
        shared.drop(pair.node1.name);
        shared.drop(pair.node2.name);
      }
    },
  };
}

/** The claim's .dsc, checked; a missing or altered one is the package's result, an unreachable mirror gives the claim back. */
async function fetchDsc(run: ClaimRun): Promise<DscRef | PairOutcome> {
  const d = await checkedDsc(run.config, run.claim);
  if (d.ok) return d.dsc;
  if (d.kind === 'missing') return run.record('E404', d.reason);
  if (d.kind === 'mismatch') return run.record('source-mismatch', d.reason);
  return run.giveBack(d.reason);
}

function spec(run: ClaimRun, n: 1 | 2, dsc: DscRef): BuildSpec {
  const node = n === 1 ? run.pair.node1 : run.pair.node2;
  // the CPU count the node reported: node-build.sh need not ask
  const cpus = run.db.latestFacts(node.name).get('NUM_CPU');
  return { config: run.config, n, claim: run.claim, job: run.pair.job, dsc, numCpu: cpus && /^[1-9]\d{0,4}$/.test(cpus) ? cpus : undefined, opts: run.opts };
}

/** Build n, noted in the run (its record, its fetched results) as the latest build n. */
async function build(run: ClaimRun, s: BuildSpec, link: NodeLink, prepared?: Prepared): Promise<RunOutcome> {
  const b = await runBuild(s, link, prepared);
  run.runs[s.n - 1] = b.record;
  run.dirs[s.n - 1] = { dir: b.dir, fetched: b.fetched };
  return b;
}

/** Compare two built results and record the verdict; differing build dependencies redo build 1 once. */
async function compareAndRecord(run: ClaimRun, s1: BuildSpec, link1: NodeLink, b1: RunOutcome, b2: RunOutcome): Promise<PairOutcome> {
  const { pair } = run;
  let r1 = await trustedResults(b1, pair.node1.name);
  const r2 = await trustedResults(b2, pair.node2.name);
  if (!sameBuildDepends(r1, r2)) {
    // the mirror changed between the builds: redo build 1 once with what build 2 had
    run.opts.onEvent?.({ type: 'retry', what: 'build 1 (the build dependencies differ between the builds)' });
    b1 = await build(run, s1, link1);
    if (b1.result !== 'built') return run.record(failureStatus(b1.result), `redone ${failureReason(b1, pair.node1.name)}`);
    r1 = await trustedResults(b1, pair.node1.name);
    if (!sameBuildDepends(r1, r2)) return run.giveBack('the build dependencies still differ between build 1 and build 2: not counted, scheduled again');
  }
  const cmp = compareArtifacts(r1.artifacts, r2.artifacts);
  if (cmp.equal) return run.record('reproducible', null);
  const { reason, report, complete } = await explainDifference(run.config, run.claim, b1, b2, r1, r2, cmp);
  const culprit = await culpritStart(run.config, {
    job: pair.job,
    runs: [b1.record, b2.record],
    results: [
      { dir: b1.dir, r: r1 },
      { dir: b2.dir, r: r2 },
    ],
    // a report diffoscope did not finish says nothing: the hints then read the packages
    reportText: complete ? report : null,
  });
  return run.record('FTBR', reason, report, { culprit });
}

function sameBuildDepends(a: ResultDir, b: ResultDir): boolean {
  return JSON.stringify(a.buildDepends) === JSON.stringify(b.buildDepends);
}

/** Whether two nodes are (or may be) one machine's one workdir: build 1's and build 2's pending entries would collide. */
function sharesWorkdir(a: NodeConfig, b: NodeConfig): boolean {
  if (a.workdir !== b.workdir) return false;
  return a.name === b.name || (a.transport === b.transport && a.host.toLowerCase() === b.host.toLowerCase());
}

/** Why two builds differ: the artifacts that do, and diffoscope's report where it may run. */
async function explainDifference(
  config: Config,
  claim: Claim,
  b1: RunOutcome,
  b2: RunOutcome,
  r1: ResultDir,
  r2: ResultDir,
  cmp: ArtifactComparison,
): Promise<{ reason: string; report: string | null; complete: boolean }> {
  const reportBase = STATE_LAYOUT.reportBase(config.stateDir, claim);
  await mkdir(dirname(reportBase), { recursive: true });
  let reason = describeDifference(cmp);
  let report: string | null = null;
  let complete = false;
  const unsafe = [...r1.unsafeNames, ...r2.unsafeNames];
  if (unsafe.length > 0) {
    reason += `; no diffoscope report: a .changes lists ${unsafe.length === 1 ? 'a file name' : 'file names'} outside its directory (${unsafe
      .slice(0, 3)
      .map((n) => excerpt(n, 200))
      .join(', ')})`;
  } else if (r1.changes && r2.changes) {
    const d = await runDiffoscope(
      join(b1.dir, r1.changes),
      join(b2.dir, r2.changes),
      { text: `${reportBase}.diffoscope.txt`, html: `${reportBase}.diffoscope.html` },
      {
        timeoutS: config.build.diffoscopeTimeout,
        maxBytes: config.build.diffoscopeMaxBytes,
      },
    );
    if (d.problem) reason += `; ${d.problem}`;
    report = d.text;
    complete = d.ok;
  }
  return { reason, report, complete };
}
