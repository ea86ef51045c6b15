/**
 * One single build of a pair on its node: the work order written on the main
 * node (builds/, in the contract: status and cleanup read it) and sent on
 * stdin; node-build.sh run (whole, or its prepared second half); its results
 * fetched and checked; what it says recorded as a build run.
 */
import { readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { Config } from '../core/config.js';
import { nodeWords } from '../core/errors.js';
import { BUILD_RESULTS, NODE_EXIT, NODE_LAYOUT, STATE_LAYOUT } from '../core/protocol.js';
import type { ExecResult } from '../core/transport.js';
import type { Claim } from '../db/archive.js';
import type { BuildRunRecord } from '../db/builds.js';
import type { BuildOptions, DscRef } from './build-types.js';
import { ARTIFACT_RE, readResultDir, type ResultDir } from './compare.js';
import { fetchResults, printedSums } from './fetch-results.js';
import { NodeFault, NodeUnusable, ResultsRefused, type NodeLink } from './node-link.js';
import { nodeScriptArgv, runNodeScript } from './node-script.js';
import { parseKeyValues, statusProblem, workOrderFor } from './work-order.js';

export interface RunOutcome {
  n: 1 | 2;
  exitCode: number | null;
  result: string;
  /** the node's own words on a failure (status REASON) */
  reason: string | null;
  /** a depwait's unsatisfiable build dependencies (status UNMET) */
  unmet: string | null;
  dir: string;
  /** the SHA256 of each fetched file, computed on the main node */
  fetched: Map<string, string>;
  record: BuildRunRecord;
}

/** What build n needs besides its node: the claim, the job, the .dsc, the node's CPU count. */
export interface BuildSpec {
  config: Config;
  n: 1 | 2;
  claim: Claim;
  job: string;
  dsc: DscRef;
  numCpu: string | undefined;
  opts: BuildOptions;
  /** every variation's value, for a culprit search's follow-up build; else the job's for build n */
  variations?: Readonly<Record<string, string>>;
  /** where the results are fetched to on the main node; else the node's results folder of the package */
  resultsDir?: string;
}

/** Build n's first half (work order, download, checks, unpack), started now, awaited by runBuild. */
export interface Prepared {
  startedAt: string;
  t0: number;
  run: Promise<ExecResult>;
  /** resumed by runBuild (else it must be cleaned from the node) */
  consumed: boolean;
}

function buildTimeoutS(config: Config, n: 1 | 2): number {
  return (n === 1 ? config.build.timeout1 : config.build.timeout2) + 120;
}

/** Write build n's work order under builds/ and return its text (it travels on node-build.sh's stdin). */
async function placeOrder(s: BuildSpec, link: NodeLink): Promise<Buffer> {
  const text = workOrderFor(s.config, s.n, link.node, s.claim, s.job, s.dsc, s.numCpu, s.variations);
  await writeFileAtomic(STATE_LAYOUT.order(s.config.stateDir, link.node.name, s.claim), text);
  return Buffer.from(text);
}

export async function prepareBuild(s: BuildSpec, link: NodeLink): Promise<Prepared> {
  const order = await placeOrder(s, link);
  s.opts.onEvent?.({ type: 'prepare-start', n: s.n, node: link.node.name, claim: s.claim });
  const run = runNodeScript(link, `prepare${s.n}`, s.claim, order, buildTimeoutS(s.config, s.n), s.opts);
  // awaited (and its failure handled) when build n's turn comes, or by discardPrepared
  run.catch(() => undefined);
  return { startedAt: new Date().toISOString(), t0: performance.now(), run, consumed: false };
}

/** Build n was prepared but will not run: once the preparation ended, clean it from the node (in the background). */
export function discardPrepared(config: Config, link: NodeLink, claim: Claim, prepared: Prepared | undefined): void {
  if (!prepared || prepared.consumed) return;
  prepared.consumed = true;
  const node = link.node;
  link.inBackground(async (t) => {
    await prepared.run.catch(() => undefined);
    await t.exec(nodeScriptArgv(node, 'cleanup', claim), { timeoutMs: 120_000 });
    await unlink(STATE_LAYOUT.order(config.stateDir, node.name, claim)).catch(() => undefined);
  });
}

/** Run node-build.sh for build n: whole, or the second half of a build prepared while the other one ran. */
async function execute(s: BuildSpec, link: NodeLink, prepared: Prepared | undefined): Promise<{ r: ExecResult; startedAt: string; t0: number }> {
  const timeoutS = buildTimeoutS(s.config, s.n);
  if (!prepared) {
    const order = await placeOrder(s, link);
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    s.opts.onEvent?.({ type: 'build-start', n: s.n, node: link.node.name, claim: s.claim });
    return { r: await runNodeScript(link, String(s.n), s.claim, order, timeoutS, s.opts), startedAt, t0 };
  }
  // a preparation that could not finish (the connection dropped) is still cleaned from the node by discardPrepared
  const p = await prepared.run;
  prepared.consumed = true;
  s.opts.onEvent?.({ type: 'build-start', n: s.n, node: link.node.name, claim: s.claim });
  // a preparation that failed (E404, source-mismatch, unpacking) is this build's outcome; its status is on the node
  const r = p.code === 0 ? await runNodeScript(link, `resume${s.n}`, s.claim, null, timeoutS, s.opts) : p;
  return { r, startedAt: prepared.startedAt, t0: prepared.t0 };
}

/** What node-build.sh's exit says of the build: its result, or why the build is given back. */
function judgeExit(s: BuildSpec, node: string, r: ExecResult): string {
  if (r.timedOut) throw new ResultsRefused(`build ${s.n} on ${node} did not end within ${buildTimeoutS(s.config, s.n)} s`, 'timeout', 'timeout');
  if (r.truncated)
    throw new ResultsRefused(`node-build.sh on ${node} printed more than 1 MiB (a SHA256SUMS of too many files?): build ${s.n} was stopped`, 'output');
  if (r.code === null) throw new NodeUnusable(`build ${s.n} on ${node} was stopped (${r.signal ?? 'aborted'})`);
  const result = BUILD_RESULTS.get(r.code);
  // node-build.sh says "node: ..." for what is wrong with the node rather than the package
  const fault = /^node-build: node: (.*)$/m.exec(r.stderr.toString('utf8'));
  if (r.code === NODE_EXIT.error && fault) throw new NodeFault(node, `build ${s.n} on ${node}: ${nodeWords(fault[1]!.slice(0, 400))}`);
  if (result === undefined || result === 'taken') {
    throw new NodeUnusable(`node-build.sh on ${node} exited with ${r.code}: ${nodeWords(r.stderr.toString('utf8').trim().slice(-300))}`);
  }
  return result;
}

/** The status file of fetched results, its numbers checked; a refused one leaves nothing on the main node. */
async function readStatus(dest: string, node: string): Promise<Map<string, string>> {
  try {
    const status = parseKeyValues(await readFile(join(dest, 'status'), 'utf8'));
    const bad = statusProblem(status);
    if (bad) throw new ResultsRefused(`the status file from ${node}: ${bad}`, 'results-status');
    return status;
  } catch (err) {
    await rm(dest, { recursive: true, force: true });
    throw err;
  }
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

/** Build n on the link's node, its results fetched into state_dir and checked. */
export async function runBuild(s: BuildSpec, link: NodeLink, prepared?: Prepared): Promise<RunOutcome> {
  const node = link.node;
  const { r, startedAt, t0 } = await execute(s, link, prepared);
  const result = judgeExit(s, node.name, r);
  const dest = s.resultsDir ?? STATE_LAYOUT.results(s.config.stateDir, node.name, s.claim);
  const remote = NODE_LAYOUT.results(node.workdir, node.name, s.claim);
  const limits = { maxBytes: s.config.build.maxResultBytes, maxMetadataBytes: s.config.build.maxMetadataBytes };
  const fetched = await fetchResults(
    link,
    remote,
    dest,
    limits,
    (what) => s.opts.onEvent?.({ type: 'retry', what: `${what} from ${node.name}` }),
    printedSums(r.stdout),
  );
  // removing them on the node overlaps with what follows (build 2, comparing, recording)
  link.inBackground((lt) => lt.exec(['rm', '-rf', remote], { timeoutMs: 60_000 }));
  const status = await readStatus(dest, node.name);
  const { variations, notApplied } = splitVariations(status);
  const durationS = Number(status.get('DURATION') ?? Math.round((performance.now() - t0) / 1000));
  s.opts.onEvent?.({ type: 'build-done', n: s.n, node: node.name, result, durationS });
  await unlink(STATE_LAYOUT.order(s.config.stateDir, node.name, s.claim)).catch(() => undefined);
  return {
    n: s.n,
    exitCode: r.code,
    result,
    dir: dest,
    reason: status.get('REASON') ?? null,
    unmet: status.get('UNMET') ?? null,
    fetched,
    record: {
      buildNumber: s.n,
      node: node.name,
      startedAt,
      durationS,
      exitCode: r.code,
      result,
      variations,
      notApplied,
      artifacts: [...fetched].filter(([name]) => ARTIFACT_RE.test(name)).map(([name, sha256]) => ({ name, sha256 })),
    },
  };
}

/** A build's results as the comparison may use them: every artifact its .changes names, as fetched, matching the .changes. */
export async function trustedResults(b: RunOutcome, node: string): Promise<ResultDir> {
  const r = await readResultDir(b.dir, b.fetched);
  if (r.problems.length > 0) {
    throw new ResultsRefused(
      `build ${b.n} on ${node}: ${r.problems.slice(0, 3).join('; ')}${r.problems.length > 3 ? ` (and ${r.problems.length - 3} more)` : ''}`,
      'changes-mismatch',
    );
  }
  return r;
}

export function failureReason(b: RunOutcome, node: string): string {
  return `build ${b.n} on ${node}: ${b.result}${b.reason && b.reason !== b.result ? ` (${b.reason})` : ''}`;
}
