/**
 * One build pair, as the 2015 design describes it, on the main node: claim the
 * next scheduled package for the pair's architecture, fetch only its .dsc and
 * pin its SHA256 in a work order, copy the order to node 1, run build 1 there,
 * fetch the results and check them against their SHA256SUMS, the same for
 * build 2 on node 2 (whose sources are downloaded and unpacked while build 1
 * runs), compare, record in one transaction. A node that cannot be
 * reached gives the claim back: no schedule entry is lost.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { hostDebianArch, type Config, type NodeConfig } from '../core/config.js';
import { writeFileAtomic } from '../core/atomic.js';
import { asDiskFull } from '../core/disk.js';
import { excerpt, nodeWords, ReprofarmError } from '../core/errors.js';
import { projectRoot } from '../core/paths.js';
import { SshFileCache } from '../core/ssh-transport.js';
import type { Status } from '../core/statuses.js';
import { TransportError, type ExecResult, type Transport } from '../core/transport.js';
import { openMirror } from '../archive/mirror.js';
import { claimNext, type Claim } from '../db/archive.js';
import { noteFailedAttempt, recordBuild, requeue, requeueBehind, setClaimOwner, type BuildRunRecord, type PairRecord } from '../db/builds.js';
import type { FarmDb } from '../db/index.js';
import { compareArtifacts, describeDifference, readResultDir, runDiffoscope, type ArtifactComparison, type ResultDir } from './compare.js';
import { fetchResults, printedSums } from './fetch-results.js';
import { checkedExec, NodeConnections, NodeLink, NodeUnusable, ResultsRefused } from './node-link.js';
import { keepUnrecorded, dropUnrecorded, takeUnrecorded } from './unrecorded.js';
import { dscUrl, formatWorkOrder, packagePath, parseKeyValues, statusProblem } from './work-order.js';

export { NodeConnections } from './node-link.js';

export interface Pair {
  job: string;
  node1: NodeConfig;
  node2: NodeConfig;
}

export type BuildEvent =
  | { type: 'claimed'; claim: Claim; pair: Pair }
  | { type: 'build-start'; n: 1 | 2; node: string; claim: Claim }
  /** build n's sources are being downloaded, checked and unpacked on its node ahead of its turn */
  | { type: 'prepare-start'; n: 1 | 2; node: string; claim: Claim }
  | { type: 'build-done'; n: 1 | 2; node: string; result: string; durationS: number }
  | { type: 'retry'; what: string }
  | { type: 'recorded'; claim: Claim; status: Status; reason: string | null; durationS: number }
  | { type: 'requeued'; claim: Claim; reason: string };

export type PairOutcome =
  | { kind: 'idle'; reason: string }
  | { kind: 'recorded'; claim: Claim; status: Status; reason: string | null; buildId: number; report: string | null }
  | { kind: 'requeued'; claim: Claim; reason: string };

export interface BuildOptions {
  onEvent?: (e: BuildEvent) => void;
  signal?: AbortSignal;
  /** called with the claim when `signal` stopped a build, before the claim goes back to the schedule */
  onAbort?: (claim: Claim) => Promise<unknown>;
  connectTimeoutS?: number;
  /** keep the connections to the pair's nodes open for the next build (else they are closed at the end) */
  connections?: NodeConnections;
}

/** node-build.sh exit codes (see the script's header) */
const EXIT: Record<number, string> = { 0: 'built', 70: 'taken', 71: 'E404', 72: 'source-mismatch', 73: 'FTBFS', 74: 'timeout' };

export const NODE_SCRIPT = 'bin/reprofarm-node-build.sh';

let scriptCache: { text: Buffer; sha256: string } | undefined;
export function nodeBuildScript(): { text: Buffer; sha256: string } {
  if (!scriptCache) {
    const text = readFileSync(join(projectRoot(), 'builder', 'node-build.sh'));
    scriptCache = { text, sha256: createHash('sha256').update(text).digest('hex') };
  }
  return scriptCache;
}

/** The architecture a node builds: configured, else its collected ARCH fact, else (local) this machine's. */
export function nodeArch(db: FarmDb, node: NodeConfig): string | undefined {
  if (node.arch) return node.arch;
  const fact = db.latestFacts(node.name).get('ARCH');
  if (fact && fact !== 'unset') return fact;
  return node.transport === 'local' ? hostDebianArch() : undefined;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Copy node-build.sh to the node (its copy is missing or differs). */
async function installNodeScript(t: Transport, node: NodeConfig): Promise<void> {
  const path = `${node.workdir}/${NODE_SCRIPT}`;
  await checkedExec(t, ['mkdir', '-p', dirname(path)], 'creating the script directory');
  const local = join(projectRoot(), 'builder', 'node-build.sh');
  await t.put(local, `${path}.tmp`);
  await checkedExec(t, ['mv', '-f', `${path}.tmp`, path], 'installing node-build.sh');
}

/** node-build.sh's exit code when the node's copy of the script is missing or differs (see withScriptCheck) */
const SCRIPT_STALE = 99;

/**
 * `argv` (`env VAR=... sh SCRIPT ...`) with the SHA256 the node's copy of
 * node-build.sh must have: the script checks itself first and exits
 * SCRIPT_STALE, before reading stdin, when it is missing or differs. One round
 * trip instead of a separate check.
 */
function withScriptCheck(argv: readonly string[]): string[] {
  const { sha256: want } = nodeBuildScript();
  const at = argv.indexOf('sh');
  return [...argv.slice(0, at), `REPROFARM_SCRIPT_SHA256=${want}`, ...argv.slice(at)];
}

interface RunOutcome {
  n: 1 | 2;
  exitCode: number | null;
  result: string;
  /** the node's own words on a failure (status REASON) */
  reason: string | null;
  dir: string;
  /** the SHA256 of each fetched file, computed on the main node */
  fetched: Map<string, string>;
  record: BuildRunRecord;
}

function splitVariations(status: Map<string, string>): { variations: Record<string, string>; notApplied: Record<string, string> } {
  const variations: Record<string, string> = {};
  const notApplied: Record<string, string> = {};
  for (const [k, v] of status) {
    if (k.startsWith('VAR_')) variations[k.slice(4)] = v;
    else if (k.startsWith('NOT_APPLIED_')) notApplied[k.slice(12)] = v;
  }
  return { variations, notApplied };
}

/** Whether two nodes are (or may be) one machine's one workdir: build 1's and build 2's pending entries would collide. */
function sharesWorkdir(a: NodeConfig, b: NodeConfig): boolean {
  if (a.workdir !== b.workdir) return false;
  return a.name === b.name || a.transport === b.transport && a.host.toLowerCase() === b.host.toLowerCase();
}

function workOrderFor(config: Config, n: 1 | 2, node: NodeConfig, claim: Claim, pair: Pair, dsc: { url: string; sha256: string }, numCpu?: string): { file: string; text: string } {
  const rel = packagePath(claim.suite, claim.arch, claim.package, claim.version);
  return {
    file: join(config.stateDir, 'builds', node.name, rel),
    text: formatWorkOrder({
      SOURCE: claim.package, VERSION: claim.version, SUITE: claim.suite, ARCH: claim.arch, DSC_URL: dsc.url, DSC_SHA256: dsc.sha256,
      BUILD: n === 1 ? '1' : '2', JOB: pair.job, NODE: node.name, BUILD_COMMAND: config.build.command,
      TIMEOUT: String(Math.round(n === 1 ? config.build.timeout1 : config.build.timeout2)),
      ...(numCpu ? { NUM_CPU: numCpu } : {}),
      variations: config.jobs.get(pair.job)?.variations[n === 1 ? 'build1' : 'build2'] ?? {},
    }),
  };
}

function buildTimeoutS(config: Config, n: 1 | 2): number {
  return (n === 1 ? config.build.timeout1 : config.build.timeout2) + 120;
}

/** `env REPROFARM_NODE=... REPROFARM_WORKDIR=... [ENV...] sh WORKDIR/bin/reprofarm-node-build.sh MODE SUITE ARCH PKG VERSION` */
export function nodeScriptArgv(node: NodeConfig, mode: string, c: Pick<Claim, 'suite' | 'arch' | 'package' | 'version'>, env: readonly string[] = []): string[] {
  return ['env', `REPROFARM_NODE=${node.name}`, `REPROFARM_WORKDIR=${node.workdir}`, ...env, 'sh', `${node.workdir}/${NODE_SCRIPT}`, mode, c.suite, c.arch, c.package, c.version];
}

/**
 * Run node-build.sh MODE for the claim on the link's node, the work order on
 * stdin when there is one. The node's copy of the script is checked in the
 * same round trip, and installed when it is stale.
 */
async function runNodeScript(link: NodeLink, mode: string, claim: Claim, order: Buffer | null, timeoutS: number, opts: BuildOptions): Promise<ExecResult> {
  const node = link.node;
  // the previous build's clean-up on this node is done before anything else starts there
  await link.settle();
  const t = await link.get();
  if (node.transport === 'local') await mkdir(node.workdir, { recursive: true });
  const script = `${node.workdir}/${NODE_SCRIPT}`;
  const argv = withScriptCheck(nodeScriptArgv(node, mode, claim, order ? ['REPROFARM_ORDER_STDIN=1'] : []));
  const execOpts = { ...(order ? { stdin: order } : {}), timeoutMs: timeoutS * 1000, ...(opts.signal ? { signal: opts.signal } : {}), maxOutputBytes: 1024 * 1024 };
  let r = await t.exec(argv, execOpts);
  // stale: the script said so, or the shell could not open a copy that is not there yet
  const missing = (r.code === 2 || r.code === 127) && r.stderr.toString('utf8').includes(script) && !r.stderr.toString('utf8').includes('node-build:');
  if (r.code === SCRIPT_STALE || missing) {
    await link.retrying('copying node-build.sh', (lt) => installNodeScript(lt, node), opts.onEvent ? (what) => opts.onEvent?.({ type: 'retry', what: `${what} to ${node.name}` }) : undefined);
    r = await (await link.get()).exec(argv, execOpts);
  }
  return r;
}

/** Build n's first half (work order, download, checks, unpack), started now, awaited by runBuild. */
interface Prepared {
  startedAt: string;
  t0: number;
  run: Promise<ExecResult>;
  /** resumed by runBuild (else it must be cleaned from the node) */
  consumed: boolean;
}

async function prepareBuild(config: Config, n: 1 | 2, link: NodeLink, claim: Claim, pair: Pair, dsc: { url: string; sha256: string }, opts: BuildOptions, numCpu?: string): Promise<Prepared> {
  const order = workOrderFor(config, n, link.node, claim, pair, dsc, numCpu);
  await writeFileAtomic(order.file, order.text);
  opts.onEvent?.({ type: 'prepare-start', n, node: link.node.name, claim });
  const run = runNodeScript(link, `prepare${n}`, claim, Buffer.from(order.text), buildTimeoutS(config, n), opts);
  // awaited (and its failure handled) when build n's turn comes, or by discardPrepared
  run.catch(() => undefined);
  return { startedAt: new Date().toISOString(), t0: performance.now(), run, consumed: false };
}

/** Build n was prepared but will not run: once the preparation ended, clean it from the node (without waiting). */
function discardPrepared(config: Config, link: NodeLink, claim: Claim, prepared: Prepared | undefined): void {
  if (!prepared || prepared.consumed) return;
  prepared.consumed = true;
  const node = link.node;
  link.later(async (t) => {
    await prepared.run.catch(() => undefined);
    await t.exec(nodeScriptArgv(node, 'cleanup', claim), { timeoutMs: 120_000 });
    await unlink(join(config.stateDir, 'builds', node.name, packagePath(claim.suite, claim.arch, claim.package, claim.version))).catch(() => undefined);
  });
}

async function runBuild(config: Config, n: 1 | 2, link: NodeLink, claim: Claim, pair: Pair, dsc: { url: string; sha256: string }, opts: BuildOptions, numCpu?: string, prepared?: Prepared): Promise<RunOutcome> {
  const node = link.node;
  const rel = packagePath(claim.suite, claim.arch, claim.package, claim.version);
  const orderFile = join(config.stateDir, 'builds', node.name, rel);
  const timeoutS = buildTimeoutS(config, n);
  let startedAt = new Date().toISOString();
  let t0 = performance.now();
  let r: ExecResult;
  if (prepared) {
    startedAt = prepared.startedAt;
    t0 = prepared.t0;
    // a preparation that could not finish (the connection dropped) is still cleaned from the node by discardPrepared
    const p = await prepared.run;
    prepared.consumed = true;
    opts.onEvent?.({ type: 'build-start', n, node: node.name, claim });
    // a preparation that failed (E404, source-mismatch, unpacking) is this build's outcome; its status is on the node
    r = p.code === 0 ? await runNodeScript(link, `resume${n}`, claim, null, timeoutS, opts) : p;
  } else {
    const order = workOrderFor(config, n, node, claim, pair, dsc, numCpu);
    await writeFileAtomic(order.file, order.text);
    opts.onEvent?.({ type: 'build-start', n, node: node.name, claim });
    // the work order travels on stdin: node-build.sh puts it in place, then takes it into pending/
    r = await runNodeScript(link, String(n), claim, Buffer.from(order.text), timeoutS, opts);
  }
  if (r.timedOut) throw new ResultsRefused(`build ${n} on ${node.name} did not end within ${timeoutS} s`, 'timeout', 'timeout');
  if (r.truncated) throw new ResultsRefused(`node-build.sh on ${node.name} printed more than 1 MiB (a SHA256SUMS of too many files?): build ${n} was stopped`, 'output');
  if (r.code === null) throw new NodeUnusable(`build ${n} on ${node.name} was stopped (${r.signal ?? 'aborted'})`);
  const result = EXIT[r.code];
  if (result === undefined || result === 'taken') {
    throw new NodeUnusable(`node-build.sh on ${node.name} exited with ${r.code}: ${nodeWords(r.stderr.toString('utf8').trim().slice(-300))}`);
  }
  const dest = join(config.stateDir, 'results', node.name, rel);
  const remoteResults = `${node.workdir}/reproducible-results/${node.name}/${rel}`;
  const limits = { maxBytes: config.build.maxResultBytes, maxMetadataBytes: config.build.maxMetadataBytes };
  const fetched = await fetchResults(link, remoteResults, dest, limits, (what) => opts.onEvent?.({ type: 'retry', what: `${what} from ${node.name}` }), printedSums(r.stdout));
  // removing them on the node overlaps with what follows (build 2, comparing, recording)
  link.later((lt) => lt.exec(['rm', '-rf', remoteResults], { timeoutMs: 60_000 }));
  let status: Map<string, string>;
  try {
    status = parseKeyValues(await readFile(join(dest, 'status'), 'utf8'));
    const bad = statusProblem(status);
    if (bad) throw new ResultsRefused(`the status file from ${node.name}: ${bad}`, 'results-status');
  } catch (err) {
    // nothing of a refused result stays on the main node
    await rm(dest, { recursive: true, force: true });
    throw err;
  }
  const { variations, notApplied } = splitVariations(status);
  const durationS = Number(status.get('DURATION') ?? Math.round((performance.now() - t0) / 1000));
  opts.onEvent?.({ type: 'build-done', n, node: node.name, result, durationS });
  await unlink(orderFile).catch(() => undefined);
  return {
    n, exitCode: r.code, result, dir: dest, reason: status.get('REASON') ?? null, fetched,
    record: { buildNumber: n, node: node.name, startedAt, durationS, exitCode: r.code, result, variations, notApplied },
  };
}

function failureStatus(result: string): Status {
  switch (result) {
    case 'E404': return 'E404';
    case 'source-mismatch': return 'source-mismatch';
    case 'timeout': return 'timeout';
    default: return 'FTBFS';
  }
}

function failureReason(b: RunOutcome, node: string): string {
  return `build ${b.n} on ${node}: ${b.result}${b.reason && b.reason !== b.result ? ` (${b.reason})` : ''}`;
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
class ClaimRun {
  recorded = false;
  /** the single builds done so far, for a record */
  readonly runs: BuildRunRecord[] = [];
  /** result directories fetched so far, with their files' SHA256: a record that cannot be written is kept with them */
  readonly dirs: Array<{ dir: string; fetched: ReadonlyMap<string, string> }> = [];
  constructor(readonly config: Config, readonly db: FarmDb, readonly pair: Pair, readonly claim: Claim, readonly opts: BuildOptions, private readonly t0: number) {}

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

  async record(status: Status, reason: string | null, report: string | null = null, gaveUp = false): Promise<PairOutcome> {
    const { claim, pair, opts } = this;
    const durationS = (performance.now() - this.t0) / 1000;
    const rec: PairRecord = { status, job: pair.job, node1: pair.node1.name, node2: pair.node2.name, durationS, reason, report, runs: this.runs, ...(gaveUp ? { gaveUp } : {}) };
    let buildId: number;
    try {
      buildId = recordBuild(this.db, claim, rec);
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
    const buildId = recordBuild(this.db, this.claim, kept);
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
      return this.record(err.status, `${err.message} (${failures} times: not retried until a new version or reprofarm schedule)`, null, true);
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

/** Claim and build the next package for a pair. */
export async function buildNext(config: Config, db: FarmDb, pair: Pair, opts: BuildOptions = {}): Promise<PairOutcome> {
  const arch = pairArch(db, pair);
  if (typeof arch !== 'string') return arch;
  const t0 = performance.now();
  const claim = claimNext(db, arch, pair.job);
  if (!claim) return { kind: 'idle', reason: `nothing scheduled for ${arch}` };
  const run = new ClaimRun(config, db, pair, claim, opts, t0);
  try {
    setClaimOwner(db, claim.id, hostname(), process.pid);
    opts.onEvent?.({ type: 'claimed', claim, pair });
    return (await run.recordKept()) ?? (await buildClaim(run));
  } catch (err) {
    return run.failed(err);
  }
}

/** The two builds of a claim, compared and recorded. */
async function buildClaim(run: ClaimRun): Promise<PairOutcome> {
  const { config, db, pair, claim, opts, runs } = run;
  const src = db.sql.prepare('SELECT directory, dsc_name, dsc_sha256 FROM sources WHERE suite = ? AND name = ? AND version = ?').get(claim.suite, claim.package, claim.version) as
    { directory: string; dsc_name: string; dsc_sha256: string } | undefined;
  if (!src) return run.giveBack(`${claim.package} ${claim.version} is no longer in ${claim.suite}; run reprofarm sync`);

  // connect to both nodes while the .dsc is fetched; wait for both, so that no connection is left opening
  const timeoutMs = (opts.connectTimeoutS ?? config.collect.timeout) * 1000;
  const kept = opts.connections;
  const files = new SshFileCache();
  const link1 = kept ? kept.link(pair.node1, timeoutMs, opts.signal) : new NodeLink(pair.node1, timeoutMs, files, opts.signal);
  const link2 = kept ? kept.link(pair.node2, timeoutMs, opts.signal) : new NodeLink(pair.node2, timeoutMs, files, opts.signal);
  const connecting = Promise.allSettled([link1.get(), link2.get()]);
  try {
    // only the .dsc: its SHA256 goes into the work order, the node fetches the rest
    let dscBytes: Buffer | null;
    try {
      dscBytes = await openMirror(config.mirror).fetch(`${src.directory}/${src.dsc_name}`, 16 * 1024 * 1024);
    } catch (err) {
      await connecting;
      return await run.giveBack(`cannot fetch the .dsc: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!dscBytes) {
      await connecting;
      return await run.record('E404', `${src.directory}/${src.dsc_name} is not on the mirror`);
    }
    const dscSha = sha256(dscBytes);
    if (dscSha !== src.dsc_sha256) {
      await connecting;
      return await run.record('source-mismatch', `${src.dsc_name} on the mirror has SHA256 ${dscSha}, the Sources index said ${src.dsc_sha256}`);
    }
    const dsc = { url: dscUrl(config.build.nodeMirror, src.directory, src.dsc_name), sha256: dscSha };
    const failed = (await connecting).find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) {
      const err: unknown = failed.reason;
      return await run.giveBack(`node unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    // the CPU counts the nodes reported: node-build.sh need not ask
    const cpus = (node: NodeConfig): string | undefined => {
      const v = db.latestFacts(node.name).get('NUM_CPU');
      return v && /^[1-9]\d{0,4}$/.test(v) ? v : undefined;
    };
    const cpus1 = cpus(pair.node1);
    const cpus2 = cpus(pair.node2);
    let b1: RunOutcome;
    let b2: RunOutcome;
    // node 2 downloads, checks and unpacks while build 1 runs; its build command still runs after build 1.
    // Not when both builds share one machine's workdir: their pending entries would be the same path.
    let prep2: Prepared | undefined;
    try {
      if (!sharesWorkdir(pair.node1, pair.node2)) prep2 = await prepareBuild(config, 2, link2, claim, pair, dsc, opts, cpus2);
      b1 = await runBuild(config, 1, link1, claim, pair, dsc, opts, cpus1);
      runs.push(b1.record);
      run.dirs.push({ dir: b1.dir, fetched: b1.fetched });
      if (b1.result !== 'built') {
        discardPrepared(config, link2, claim, prep2);
        return await run.record(failureStatus(b1.result), failureReason(b1, pair.node1.name));
      }
      b2 = await runBuild(config, 2, link2, claim, pair, dsc, opts, cpus2, prep2);
      runs.push(b2.record);
      run.dirs.push({ dir: b2.dir, fetched: b2.fetched });
      if (b2.result !== 'built') return await run.record(failureStatus(b2.result), failureReason(b2, pair.node2.name));
    } catch (err) {
      // cleaned before the claim goes back: another worker may take it at once
      discardPrepared(config, link2, claim, prep2);
      await link2.settle();
      throw err;
    }
    let r1 = await trustedResults(b1, pair.node1.name);
    const r2 = await trustedResults(b2, pair.node2.name);
    if (JSON.stringify(r1.buildDepends) !== JSON.stringify(r2.buildDepends)) {
      // the mirror changed between the builds: redo build 1 once with what build 2 had
      opts.onEvent?.({ type: 'retry', what: 'build 1 (the build dependencies differ between the builds)' });
      b1 = await runBuild(config, 1, link1, claim, pair, dsc, opts, cpus1);
      runs[0] = b1.record;
      run.dirs[0] = { dir: b1.dir, fetched: b1.fetched };
      if (b1.result !== 'built') return await run.record(failureStatus(b1.result), `redone ${failureReason(b1, pair.node1.name)}`);
      r1 = await trustedResults(b1, pair.node1.name);
      if (JSON.stringify(r1.buildDepends) !== JSON.stringify(r2.buildDepends)) {
        return await run.giveBack('the build dependencies still differ between build 1 and build 2: not counted, scheduled again');
      }
    }
    const cmp = compareArtifacts(r1.artifacts, r2.artifacts);
    if (cmp.equal) return await run.record('reproducible', null);
    const { reason, report } = await explainDifference(config, claim, b1, b2, r1, r2, cmp);
    return await run.record('FTBR', reason, report);
  } finally {
    await Promise.all([link1.settle(), link2.settle()]);
    if (!kept) {
      link1.close();
      link2.close();
    } else if (!run.recorded) {
      // given back, stopped or failed: the next build on this pair connects anew
      kept.drop(pair.node1.name);
      kept.drop(pair.node2.name);
    }
  }
}

/** A build's results as the comparison may use them: every artifact its .changes names, as fetched, matching the .changes. */
async function trustedResults(b: RunOutcome, node: string): Promise<ResultDir> {
  const r = await readResultDir(b.dir, b.fetched);
  if (r.problems.length > 0) {
    throw new ResultsRefused(`build ${b.n} on ${node}: ${r.problems.slice(0, 3).join('; ')}${r.problems.length > 3 ? ` (and ${r.problems.length - 3} more)` : ''}`, 'changes-mismatch');
  }
  return r;
}

/** Why two builds differ: the artifacts that do, and diffoscope's report where it may run. */
async function explainDifference(config: Config, claim: Claim, b1: RunOutcome, b2: RunOutcome, r1: ResultDir, r2: ResultDir, cmp: ArtifactComparison): Promise<{ reason: string; report: string | null }> {
  const reportBase = join(config.stateDir, 'reports', claim.suite, claim.arch, `${claim.package}_${claim.version}`);
  await mkdir(dirname(reportBase), { recursive: true });
  let reason = describeDifference(cmp);
  let report: string | null = null;
  const unsafe = [...r1.unsafeNames, ...r2.unsafeNames];
  if (unsafe.length > 0) {
    reason += `; no diffoscope report: a .changes lists ${unsafe.length === 1 ? 'a file name' : 'file names'} outside its directory (${unsafe.slice(0, 3).map((n) => excerpt(n, 200)).join(', ')})`;
  } else if (r1.changes && r2.changes) {
    const d = await runDiffoscope(join(b1.dir, r1.changes), join(b2.dir, r2.changes), { text: `${reportBase}.diffoscope.txt`, html: `${reportBase}.diffoscope.html` }, {
      timeoutS: config.build.diffoscopeTimeout, maxBytes: config.build.diffoscopeMaxBytes,
    });
    if (d.problem) reason += `; ${d.problem}`;
    report = d.text;
  }
  return { reason, report };
}
