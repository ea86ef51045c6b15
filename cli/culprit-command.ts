/**
 * `reprofarm culprit SUITE ARCH PKG`: the package's culprit search, run now
 * in this process (a worker leaves a claimed search alone), one line per
 * step on stderr, then the verdict; --json prints the steps and the verdict.
 * Exit 0 with a verdict (culprits or nondeterministic), 1 without one.
 */
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { searchNext, type StepEvent } from '../builder/culprit-step.js';
import { workerPairs } from '../builder/worker.js';
import { restartSearch, searchOf, stepsOf } from '../db/culprits.js';
import { openDb, type FarmDb } from '../db/index.js';
import { newPlan, parsePlan, describeStep } from '../culprit/search.js';
import type { ParsedArgs } from './args.js';
import { termSafe, type Reporter } from './output.js';

export async function runCulprit(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [suite, arch, pkg, ...extra] = args.positionals;
  if (!suite || !arch || !pkg || extra.length > 0) throw new UsageError('culprit needs SUITE ARCH PKG', { advice: 'reprofarm culprit bookworm amd64 hello' });
  const db = openDb(dbFile(config.stateDir));
  try {
    const key = { suite, arch, package: pkg };
    const search = searchOf(db, key);
    if (!search) throw new UsageError(`${pkg} has no FTBR result in ${suite}/${arch} to search`, { advice: noSearchAdvice(db, key) });
    const job = typeof args.values.job === 'string' ? args.values.job : search.job;
    const [pair] = workerPairs(config, [job]);
    if (!pair) throw new UsageError(`unknown job "${job}"`);
    if (!args.values.continue || search.state === 'done') {
      const keys = parsePlan(search.plan)?.keys ?? [];
      if (!restartSearch(db, key, JSON.stringify(newPlan(keys)))) {
        throw new UsageError(`a worker is running a step of ${pkg}'s search now`, {
          advice: 'wait for it to end, or run reprofarm culprit with --continue after it',
        });
      }
    }
    const onStep = (e: StepEvent): void => {
      if (e.type === 'step-start') rep.line(`step ${e.n}: ${termSafe(describeStep(e.step))} on ${pair.node1.name}...`);
      if (e.type === 'step-done') rep.line(`step ${e.n}: ${e.outcome}${e.reason ? ` (${termSafe(e.reason)})` : ''} in ${e.durationS.toFixed(1)} s`);
    };
    for (;;) {
      const r = await searchNext(config, db, pair, { key, onStep });
      if (r.kind === 'idle') throw new UsageError(`${pkg}'s search could not be taken: ${r.reason}`);
      if (r.kind === 'given-back') {
        rep.line(`given back: ${termSafe(r.reason)}`, true);
        return report(db, key, rep, args, 1);
      }
      if (r.verdict) return report(db, key, rep, args, r.verdict.verdict === 'unknown' ? 1 : 0);
    }
  } finally {
    db.close();
  }
}

function noSearchAdvice(db: FarmDb, key: { suite: string; arch: string; package: string }): string {
  const r = db.sql.prepare('SELECT status, version FROM results WHERE suite = ? AND arch = ? AND package = ?').get(key.suite, key.arch, key.package) as
    { status: string; version: string } | undefined;
  return r
    ? `its current result (${r.version}) is ${r.status}; a search starts from an FTBR`
    : `reprofarm schedule ${key.suite} ${key.arch} ${key.package} builds it first`;
}

function report(db: FarmDb, key: { suite: string; arch: string; package: string }, rep: Reporter, args: ParsedArgs, code: number): number {
  const s = searchOf(db, key);
  const steps = stepsOf(db, key);
  const culprits = JSON.parse(s?.culprits ?? '[]') as string[];
  const verdict = s?.verdict ?? null;
  const head = `${key.package} ${s?.version ?? ''} ${key.suite}/${key.arch}`;
  if (verdict === 'culprits') rep.line(`${head}: culprits ${culprits.join(', ')} (${termSafe(s?.why ?? '')}), after ${steps.length} builds`, true);
  else rep.line(`${head}: ${verdict ?? 'no verdict'}${s?.why ? ` (${termSafe(s.why)})` : ''}, after ${steps.length} builds`, true);
  if (args.values.json) {
    rep.json({
      package: key.package,
      version: s?.version ?? null,
      suite: key.suite,
      architecture: key.arch,
      verdict,
      culprits,
      why: s?.why ?? null,
      builds: steps.length,
      steps: steps.map((x) => ({
        step: x.step,
        kind: x.kind,
        variations: JSON.parse(x.variations) as string[],
        node: x.node,
        outcome: x.outcome,
        reason: x.reason,
        duration_s: x.duration,
      })),
    });
  }
  return code;
}
