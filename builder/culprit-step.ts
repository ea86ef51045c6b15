/**
 * One step of a culprit search (culprit/search.ts): claim the job's next
 * waiting search, build the package once on the job's node 1 with build 1's
 * variations except the step's set (given build 2's values), compare its
 * artifacts with build 1's, and record the step and the plan's new state in
 * one transaction. A node that cannot be reached gives the step back; a build
 * that fails is the step's outcome.
 */
import { hostname } from 'node:os';
import { rm } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import { TransportError } from '../core/transport.js';
import type { Claim } from '../db/archive.js';
import { attestVerdict } from '../attest/record.js';
import { claimSearch, recordStep, releaseSearch, type SearchClaim } from '../db/culprits.js';
import type { FarmDb } from '../db/index.js';
import { stepValues } from '../culprit/keys.js';
import { advance, describeStep, nextStep, outOfBudget, parsePlan, type NextStep, type StepOutcome, type Verdict } from '../culprit/search.js';
import { parseReference } from '../culprit/reference.js';
import type { BuildOptions, Pair } from './build-types.js';
import { compareArtifacts } from './compare.js';
import { checkedDsc } from './dsc.js';
import { NodeFault, NodeLink, NodeUnusable, ResultsRefused } from './node-link.js';
import { nodeArch } from './orchestrator.js';
import { failureReason, runBuild, trustedResults } from './single-build.js';
import { SshFileCache } from '../core/ssh-transport.js';

export type StepEvent =
  | { type: 'step-start'; search: SearchClaim; step: NextStep; n: number }
  | { type: 'step-done'; search: SearchClaim; step: NextStep; n: number; outcome: StepOutcome; reason: string | null; durationS: number }
  | { type: 'verdict'; search: SearchClaim; verdict: Verdict; builds: number };

export type StepResult =
  | { kind: 'idle'; reason: string }
  | { kind: 'step'; search: SearchClaim; outcome: StepOutcome; verdict?: Verdict }
  | { kind: 'given-back'; search: SearchClaim; reason: string };

export interface StepOptions extends Pick<BuildOptions, 'signal' | 'connectTimeoutS' | 'connections'> {
  onStep?: (e: StepEvent) => void;
  /** this package's search, whatever its job and the day's budget (reprofarm culprit) */
  key?: { suite: string; arch: string; package: string };
}

/** Claim and run the pair's next search step. */
export async function searchNext(config: Config, db: FarmDb, pair: Pair, opts: StepOptions = {}): Promise<StepResult> {
  const arch = nodeArch(db, pair.node1);
  if (!arch) return { kind: 'idle', reason: `the architecture of ${pair.node1.name} is not known` };
  const search = claimSearch(db, pair.job, arch, { maxPerDay: config.culprit.maxBuildsPerDay, owner: { host: hostname(), pid: process.pid }, key: opts.key });
  if (!search) return { kind: 'idle', reason: 'no culprit search is waiting' };
  try {
    return await runStep(config, db, pair, search, opts);
  } catch (err) {
    releaseSearch(db, search, search.claimed_by);
    if (err instanceof NodeFault) db.markDegraded(err.node, err.message);
    if (err instanceof NodeUnusable || err instanceof TransportError) return { kind: 'given-back', search, reason: err.message };
    throw err;
  }
}

async function runStep(config: Config, db: FarmDb, pair: Pair, search: SearchClaim, opts: StepOptions): Promise<StepResult> {
  const plan = parsePlan(search.plan);
  const conclude = (verdict: Verdict, planText: string): StepResult => {
    record(config, db, search, undefined, planText, verdict);
    opts.onStep?.({ type: 'verdict', search, verdict, builds: search.builds });
    return { kind: 'step', search, outcome: 'failed', verdict };
  };
  if (!plan) return conclude({ verdict: 'unknown', why: 'the search state in the DB is not readable (reprofarm culprit starts it again)' }, search.plan);
  const step = nextStep(plan);
  if (!step) return conclude({ verdict: 'unknown', why: 'the search ended without a verdict' }, search.plan);
  if (plan.builds >= config.culprit.maxBuildsPerPackage) {
    const out = outOfBudget(plan, config.culprit.maxBuildsPerPackage);
    return conclude(out.verdict, JSON.stringify(out.plan));
  }
  const d = await checkedDsc(config, search);
  if (!d.ok && d.kind === 'unreachable') {
    releaseSearch(db, search, search.claimed_by);
    return { kind: 'given-back', search, reason: d.reason };
  }
  if (!d.ok) return conclude({ verdict: 'unknown', why: `the sources cannot be built again: ${d.reason}` }, search.plan);
  const n = plan.builds + 1;
  opts.onStep?.({ type: 'step-start', search, step, n });
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const { outcome, reason } = await buildAndCompare(config, db, pair, search, step, d.dsc, opts);
  const durationS = (performance.now() - t0) / 1000;
  const next = advance(plan, outcome);
  const row = {
    kind: step.kind,
    variations: JSON.stringify(step.variations),
    node: pair.node1.name,
    started_at: startedAt,
    duration: durationS,
    outcome,
    reason,
  };
  record(config, db, search, row, JSON.stringify(next.plan), next.verdict);
  opts.onStep?.({ type: 'step-done', search, step, n, outcome, reason, durationS });
  if (next.verdict) opts.onStep?.({ type: 'verdict', search, verdict: next.verdict, builds: next.plan.builds });
  return { kind: 'step', search, outcome, verdict: next.verdict };
}

function verdictRow(v: Verdict): { verdict: Verdict['verdict']; culprits: string[]; why: string } {
  return { verdict: v.verdict, culprits: v.verdict === 'culprits' ? v.culprits : [], why: v.why };
}

/** A step and the plan it led to; a verdict with its attestation, signed before the transaction. */
function record(config: Config, db: FarmDb, search: SearchClaim, row: Parameters<typeof recordStep>[2], plan: string, verdict: Verdict | undefined): void {
  const v = verdict && verdictRow(verdict);
  recordStep(db, search, row, plan, v, new Date(), v && attestVerdict(config, db, search.build_id, v));
}

/** The step's build on node 1, its artifacts against build 1's: differs, same, or failed (with why). */
async function buildAndCompare(
  config: Config,
  db: FarmDb,
  pair: Pair,
  search: SearchClaim,
  step: NextStep,
  dsc: { url: string; sha256: string },
  opts: StepOptions,
): Promise<{ outcome: StepOutcome; reason: string | null }> {
  const claim = asClaim(search);
  const node = pair.node1;
  const timeoutMs = (opts.connectTimeoutS ?? config.collect.timeout) * 1000;
  const link = opts.connections ? opts.connections.link(node, timeoutMs, opts.signal) : new NodeLink(node, timeoutMs, new SshFileCache(), opts.signal);
  const dest = STATE_LAYOUT.culpritResults(config.stateDir, claim);
  try {
    await link.get();
    const cpus = db.latestFacts(node.name).get('NUM_CPU');
    const b = await runBuild(
      {
        config,
        n: 2,
        claim,
        job: search.job,
        dsc,
        numCpu: cpus && /^[1-9]\d{0,4}$/.test(cpus) ? cpus : undefined,
        opts: { signal: opts.signal },
        variations: stepValues(config, search.job, step.variations),
        resultsDir: dest,
      },
      link,
    );
    if (b.result !== 'built') return { outcome: 'failed', reason: failureReason(b, node.name) };
    const r = await trustedResults(b, node.name).catch((err: unknown) => {
      // results that cannot be trusted are the package's doing, like a failed build
      if (err instanceof ResultsRefused) return err;
      throw err;
    });
    if (r instanceof ResultsRefused) return { outcome: 'failed', reason: r.message };
    const ref = parseReference(search.reference);
    if (ref.buildDepends && JSON.stringify(ref.buildDepends) !== JSON.stringify(r.buildDepends)) {
      return { outcome: 'failed', reason: "the build dependencies installed differ from build 1's (the archive moved): the builds cannot be compared" };
    }
    const cmp = compareArtifacts(
      Object.entries(ref.artifacts).map(([name, sha256]) => ({ name, sha256, size: 0 })),
      r.artifacts,
    );
    return {
      outcome: cmp.equal ? 'same' : 'differs',
      reason: cmp.equal ? null : `${describeStep(step)}: ${[...cmp.differing, ...cmp.onlyIn1, ...cmp.onlyIn2].join(', ')}`,
    };
  } finally {
    await link.settle();
    if (!opts.connections) link.close();
    await rm(dest, { recursive: true, force: true });
  }
}

/** A search as the build steps take a claim: its package version, claimed by its job. */
function asClaim(s: SearchClaim): Claim {
  return {
    id: 0,
    suite: s.suite,
    arch: s.arch,
    package: s.package,
    version: s.version,
    priority: 0,
    reason: 'culprit search',
    claimed_by: s.claimed_by,
    claimed_at: s.claimed_at,
    dsc_path: s.dsc_path,
    dsc_sha256: s.dsc_sha256,
  };
}
