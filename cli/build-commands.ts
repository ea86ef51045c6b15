import { resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { ReprofarmError, UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { buildNext, type BuildEvent } from '../builder/orchestrator.js';
import { pairFor } from '../builder/pairs.js';
import { cleanClaimOnNodes } from '../builder/cleanup.js';
import { compareArtifacts, describeDifference, readResultDir, runDiffoscope } from '../builder/compare.js';
import { openDb } from '../db/index.js';
import type { ParsedArgs } from './args.js';
import { termSafe, type Reporter } from './output.js';

export async function runBuild(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const pair = pairFor(config, args.positionals);
  const db = openDb(dbFile(config.stateDir));
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const onEvent = (e: BuildEvent): void => {
      switch (e.type) {
        case 'claimed':
          rep.line(
            `${e.claim.package} ${e.claim.version} ${e.claim.suite}/${e.claim.arch}: claimed by ${e.pair.job} (${e.claim.reason}, priority ${e.claim.priority})`,
          );
          break;
        case 'prepare-start':
          rep.verbose(`  build ${e.n} on ${e.node}: downloading and unpacking the sources meanwhile`);
          break;
        case 'build-start':
          rep.verbose(`  build ${e.n} on ${e.node}...`);
          break;
        case 'build-done':
          rep.line(`  build ${e.n} on ${e.node}: ${e.result} in ${e.durationS} s`);
          break;
        case 'retry':
          rep.line(`  retrying ${termSafe(e.what)}`);
          break;
        case 'recorded':
          rep.line(
            `${e.claim.package} ${e.claim.version} ${e.claim.suite}/${e.claim.arch}: ${e.status}${e.reason ? ` (${termSafe(e.reason)})` : ''} in ${e.durationS.toFixed(1)} s`,
            true,
          );
          break;
        case 'requeued':
          rep.line(`${e.claim.package} ${e.claim.version}: given back to the schedule: ${termSafe(e.reason)}`, true);
          break;
      }
    };
    const out = await buildNext(config, db, pair, { onEvent, signal: ac.signal, onAbort: (claim) => cleanClaimOnNodes(config, claim) });
    if (out.kind === 'idle') rep.line(`Nothing to build for ${pair.job}: ${out.reason}`);
    if (args.values.json) {
      rep.json(
        out.kind === 'idle'
          ? { outcome: 'idle', reason: out.reason }
          : {
              outcome: out.kind,
              package: out.claim.package,
              version: out.claim.version,
              suite: out.claim.suite,
              architecture: out.claim.arch,
              status: out.kind === 'recorded' ? out.status : null,
              reason: out.reason,
              report: out.kind === 'recorded' ? out.report : null,
              job: pair.job,
              node1: pair.node1.name,
              node2: pair.node2.name,
            },
      );
    }
    return out.kind === 'requeued' ? 2 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    db.close();
  }
}

export async function runCompare(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [d1, d2, ...rest] = args.positionals;
  if (!d1 || !d2 || rest.length > 0) throw new UsageError('compare takes two result directories: DIR1 DIR2');
  const r1 = await readResultDir(d1);
  const r2 = await readResultDir(d2);
  if (!r1.changes || !r2.changes) throw new UsageError(`${!r1.changes ? d1 : d2} has no .changes file: is it a result directory?`);
  for (const [d, r] of [
    [d1, r1],
    [d2, r2],
  ] as const) {
    if (r.problems.length > 0) {
      throw new ReprofarmError(`${d} cannot be compared: ${r.problems.join('; ')}`, {
        advice: 'a file that is not what its .changes lists makes no verdict: build it again',
      });
    }
  }
  const cmp = compareArtifacts(r1.artifacts, r2.artifacts);
  const status = cmp.equal ? 'reproducible' : 'FTBR';
  let reason = cmp.equal ? null : describeDifference(cmp);
  const prefix = args.values.report as string | undefined;
  let report: string | null = null;
  if (!cmp.equal && prefix) {
    const d = await runDiffoscope(
      resolve(d1, r1.changes),
      resolve(d2, r2.changes),
      { text: `${prefix}.diffoscope.txt`, html: `${prefix}.diffoscope.html` },
      {
        timeoutS: config.build.diffoscopeTimeout,
        maxBytes: config.build.diffoscopeMaxBytes,
      },
    );
    if (d.problem) reason = `${reason ?? ''}; ${d.problem}`;
    report = d.text;
  }
  const deps = JSON.stringify(r1.buildDepends) === JSON.stringify(r2.buildDepends);
  rep.line(`${status}${reason ? `: ${termSafe(reason)}` : ''}${deps ? '' : ' (the .buildinfo files list different Installed-Build-Depends)'}`, true);
  if (args.values.json)
    rep.json({ status, reason, report, same_build_depends: deps, only_in_1: cmp.onlyIn1, only_in_2: cmp.onlyIn2, differing: cmp.differing });
  return 0;
}

export async function runCleanup(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const { cleanup } = await import('../builder/cleanup.js');
  const db = openDb(dbFile(config.stateDir));
  try {
    const r = await cleanup(config, db, { onLine: (s) => rep.line(termSafe(s), true) });
    const unclean = r.stale.filter((s) => s.nodes.some((n) => !n.ok)).length;
    const { pruneMainNode } = await import('../builder/prune.js');
    const p = await pruneMainNode(config, db);
    for (const d of p.results) rep.verbose(`removed ${d}`);
    for (const n of p.nodeInformation) rep.line(`removed node-information/${n}: ${n} is no longer configured`);
    rep.line(
      `Cleaned ${r.stale.length} stale build(s), requeued ${r.requeued}; ${r.kept} build(s) still running${unclean ? `; ${unclean} could not be cleaned on every node` : ''}`,
      true,
    );
    rep.line(
      `Pruned ${p.results.length} result director${p.results.length === 1 ? 'y' : 'ies'} older than ${config.cleanup.resultsRetentionDays} days (kept ${p.keptCurrent} of current results) and ${p.nodeInformation.length} node-information file(s) of nodes no longer configured`,
      true,
    );
    if (args.values.json) {
      rep.json({
        pruned_results: p.results,
        kept_current_results: p.keptCurrent,
        pruned_node_information: p.nodeInformation,
        requeued: r.requeued,
        running: r.kept,
        removed_orders: r.orphanOrders,
        stale: r.stale.map((s) => ({
          package: s.claim.package,
          version: s.claim.version,
          suite: s.claim.suite,
          architecture: s.claim.arch,
          job: s.claim.claimed_by,
          claimed_at: s.claim.claimed_at,
          why: s.why,
          nodes: s.nodes,
        })),
      });
    }
    return unclean > 0 ? 2 : 0;
  } finally {
    db.close();
  }
}
